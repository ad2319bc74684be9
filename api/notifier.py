"""The status notifier: a background loop in each API process that posts commit statuses.

Every ``status_poll_interval_s`` it takes the due rows of the outbox
(``api.services.statuses``), posts each to GitHub or GitLab, and records the outcome on the
row. A connection error, a timeout, 408, 429 or a 5xx is retried after
``status_retry_base_s`` × 2^(attempt − 1) seconds (or the provider's ``Retry-After`` when
longer), up to ``status_max_attempts`` attempts; any other answer (a bad token: 401, an
unknown repository: 404, a sha the provider does not know: 422) is final. Nothing here runs
on a request's path, so a provider that is down never slows or fails an API request.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

import httpx

from api.db import Database
from api.models import utcnow
from api.services.statuses import RETRYABLE, Outgoing, claim_due, record
from api.settings import Settings

log = logging.getLogger("squeezelab.api.statuses")
BATCH = 20
MAX_RETRY_AFTER_S = 3600.0


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "")
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER_S)
    except ValueError:
        return 0.0


class StatusNotifier:
    """Sends due statuses every ``status_poll_interval_s`` in a daemon thread until stopped."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings
        self.interval_s = settings.status_poll_interval_s
        self._http: httpx.Client | None = None  # made on first use: most apps never send
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def _client(self) -> httpx.Client:
        if self._http is None:
            # HTTPS_PROXY / NO_PROXY of the API process apply (an API behind a proxy).
            self._http = httpx.Client(timeout=self.settings.status_timeout_s,
                                      follow_redirects=False)
        return self._http

    def _backoff(self, attempt: int) -> float:
        return float(self.settings.status_retry_base_s * 2 ** max(attempt - 1, 0))

    def send(self, status: Outgoing, now: datetime | None = None) -> str:
        """One attempt at one claimed status; returns its outcome after recording it."""
        http_status: int | None = None
        retry: float | None = None
        if status.problem is not None:
            error = status.problem
        else:
            try:
                response = self._client().post(status.url, json=status.body,
                                               headers=status.headers)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
                retry = self._backoff(status.attempt)
            else:
                http_status = response.status_code
                error = f"HTTP {http_status}: {response.text[:300]}"
                if http_status in RETRYABLE:
                    retry = max(self._backoff(status.attempt), _retry_after(response))
        if retry is not None and status.attempt >= self.settings.status_max_attempts:
            retry = None
        with self.db.session() as session:
            outcome = record(session, status, http_status, error, retry, now or utcnow())
        if outcome == "sent":
            log.info("status %s (%s) of sweep %s sent", status.status_id, status.state,
                     status.sweep_id)
        elif outcome == "queued":
            log.warning("status %s of sweep %s: attempt %d failed (%s); retrying in %.1f s",
                        status.status_id, status.sweep_id, status.attempt, error, retry)
        else:
            log.error("status %s of sweep %s given up after %d attempt(s): %s",
                      status.status_id, status.sweep_id, status.attempt, error)
        return outcome

    def tick(self, now: datetime | None = None) -> list[str]:
        """Send every due status (in batches); returns their outcomes."""
        outcomes: list[str] = []
        while True:
            with self.db.session() as session:
                # Held for longer than one request may take, so no other process sends it.
                claimed = claim_due(session, now or utcnow(), BATCH,
                                    hold_s=4 * self.settings.status_timeout_s)
            outcomes += [self.send(status, now) for status in claimed]
            if len(claimed) < BATCH:
                return outcomes

    def start(self) -> None:
        if self._thread is not None or self.interval_s <= 0:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="squeezelab-statuses",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        if self._http is not None:
            self._http.close()
            self._http = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.tick()
            except Exception as exc:  # the database is down: try again next tick
                log.warning("status notifier tick failed: %s", exc, exc_info=not self._failing)
                self._failing = True
            else:
                self._failing = False
