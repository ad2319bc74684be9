"""ASGI middleware: request ids, request-body size limits and request counters."""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PayloadTooLargeError
from api.problems import send_problem

_SAFE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
_LENGTH = re.compile(r"[0-9]{1,19}")  # ASCII: "²".isdigit() is true, and int() refuses it


class RequestMetrics:
    """Counters exported on /metrics (Prometheus text format); one instance per app."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, int]] = Counter()
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def observe(self, method: str, status: int, seconds: float) -> None:
        self.requests[(method, status)] += 1
        self.seconds[method] += seconds


class RequestContextMiddleware:
    """Gives each request an id (kept from a sane ``X-Request-ID``) and limits its body.

    A declared Content-Length over the limit is refused before the app runs; a chunked body
    is counted as it is read and the read raises ``PayloadTooLargeError``. A query string
    with a NUL (``%00``) is refused (422) before the app runs.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int],
                 metrics: RequestMetrics) -> None:
        self.app = app
        self.limit_for = limit_for
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        given = headers.get("x-request-id", "")
        rid = given if _SAFE_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        limit = self.limit_for(scope["path"])
        status_seen = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status_seen
            if message["type"] == "http.response.start":
                status_seen = message["status"]
                raw = [(k, v) for k, v in message.get("headers", [])
                       if k.lower() != b"x-request-id"]
                message["headers"] = [*raw, (b"x-request-id", rid.encode())]
            await send(message)

        try:
            declared = headers.get("content-length", "")
            if _LENGTH.fullmatch(declared) and int(declared) > limit:
                await _refuse(send_with_id, scope["path"], rid, 413, "payload-too-large",
                              "Payload too large",
                              f"the request body exceeds the limit of {limit} bytes")
                return
            # No parameter may hold a NUL: PostgreSQL text cannot, and no name does.
            if b"%00" in scope.get("query_string", b""):
                await _refuse(send_with_id, scope["path"], rid, 422, "invalid-input",
                              "Invalid input", "a query parameter holds a NUL character (%00)")
                return
            await self.app(scope, _limited(receive, limit), send_with_id)
        finally:
            self.metrics.observe(scope["method"], status_seen, time.perf_counter() - started)


def _limited(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise PayloadTooLargeError(limit)
        return message

    return wrapped


async def _refuse(send: Send, path: str, rid: str, status: int, slug: str, title: str,
                  detail: str) -> None:
    # The body was not read: close the connection rather than leave it behind on it.
    await send_problem(send, status, slug, title, detail, path, rid,
                       headers=((b"connection", b"close"),))
