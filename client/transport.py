"""HTTP transport: bearer auth, typed errors, and retries with backoff for idempotent calls.

Only calls that are safe to repeat are retried (GET, PUT, DELETE, and the POSTs the API
makes idempotent: metric batches, heartbeats, worker registration). A POST that creates or
transitions something (submit, claim, complete, fail, cancel) is sent once: repeating it
after a lost reply could act twice.
"""

from __future__ import annotations

import email.utils
import hashlib
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from client.errors import ApiConnectionError, SqueezelabError, error_from_response

CHUNK = 1024 * 1024
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How idempotent calls are retried.

    Args:
        retries: attempts after the first one.
        backoff_s: the first delay; it doubles each attempt (full jitter).
        max_backoff_s: the longest delay, ``Retry-After`` included.
    """

    retries: int = 5
    backoff_s: float = 0.25
    max_backoff_s: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_backoff_s)
        ceiling = min(self.backoff_s * 2**attempt, self.max_backoff_s)
        return random.uniform(ceiling / 2, ceiling)


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


class Transport:
    """Sends requests to ``base_url`` with a bearer token; raises typed errors."""

    def __init__(self, base_url: str, token: str | None, timeout: float,
                 retry: RetryPolicy, http: httpx.Client | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = http or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout,
                                         headers=headers)
        if http is not None:
            self.http.headers.update(headers)
        self.retry = retry
        self._sleep = sleep

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, *, idempotent: bool,
                retries: int | None = None, **kwargs: Any) -> httpx.Response:
        """Send once, or up to ``1 + retries`` times when ``idempotent``; the response is
        read and 2xx. ``kwargs`` go to ``httpx.Client.request``; a callable ``content``
        is called for a fresh body on every attempt."""
        attempts = 1 + ((self.retry.retries if retries is None else retries)
                        if idempotent else 0)
        body_factory = kwargs.pop("content", None)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            if callable(body_factory):
                kwargs["content"] = body_factory()
            elif body_factory is not None:
                kwargs["content"] = body_factory
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if last:
                    raise ApiConnectionError(f"{method} {path}: {exc!r}") from exc
                self._sleep(self.retry.delay(attempt, None))
                continue
            if response.status_code < 400:
                return response
            if response.status_code in RETRY_STATUSES and not last:
                self._sleep(self.retry.delay(
                    attempt, parse_retry_after(response.headers.get("retry-after"))))
                continue
            raise error_from_response(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def download(self, path: str, dest: Path) -> str:
        """Stream a GET to ``dest`` (through a temporary file, renamed when complete),
        retried like any GET; returns the sha256 of what was written."""
        for attempt in range(1 + self.retry.retries):
            last = attempt == self.retry.retries
            try:
                with self.http.stream("GET", path) as response:
                    if response.status_code >= 400:
                        response.read()
                        if response.status_code in RETRY_STATUSES and not last:
                            self._sleep(self.retry.delay(attempt, parse_retry_after(
                                response.headers.get("retry-after"))))
                            continue
                        raise error_from_response(response)
                    return _write_stream(response, dest,
                                         response.headers.get("x-checksum-sha256"))
            except httpx.TransportError as exc:
                if last:
                    raise ApiConnectionError(f"GET {path}: {exc!r}") from exc
                self._sleep(self.retry.delay(attempt, None))
        raise AssertionError("unreachable")  # pragma: no cover


def _write_stream(response: httpx.Response, dest: Path, expected: str | None) -> str:
    digest = hashlib.sha256()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    try:
        with tmp.open("wb") as out:
            for chunk in response.iter_bytes(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if expected and digest.hexdigest() != expected:
            raise SqueezelabError(f"{dest.name}: sha256 mismatch, download corrupted")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return digest.hexdigest()
