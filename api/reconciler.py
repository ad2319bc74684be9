"""The reconciler: a background loop in each API process that repairs dispatch.

Every ``reconcile_interval_s`` it
1. expires leases: a running run whose worker stopped renewing its lease (the worker
   died) goes back to queued and is sent again, or fails after ``max_attempts``
   (``api.services.runs.expire_leases``);
2. re-sends lost runs: queued runs that are ready but that no broker holds, because the
   send failed or the broker lost its data (``api.services.dispatch.resend_lost``).

Why a loop in the API and not Celery beat: the API owns the run state machine and the
database credentials, and workers get neither (they talk to the API over HTTP only), so a
beat task would need a second path into the database or an admin endpoint to call; the
API already runs wherever squeezelab runs, so embedded mode needs no extra beat process;
and the loop is safe to run in several API processes at once, because every transition it
makes is a conditional UPDATE that only one process wins (a duplicate message, should one
slip through, is refused at claim time with 409 and dropped by the worker).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from api.db import Database
from api.services.context import Effects
from api.services.dispatch import resend_lost
from api.services.runs import expire_leases

log = logging.getLogger("squeezelab.api.reconciler")


@dataclass(frozen=True)
class Reconciled:
    """What one tick did."""

    expired: list[int]  # runs whose lease expired: requeued and re-sent, or failed
    resent: list[int]  # queued runs sent again because no broker held them


class Reconciler:
    """Runs ``tick`` every ``interval_s`` seconds in a daemon thread until stopped."""

    def __init__(self, db: Database, fx: Effects, interval_s: float) -> None:
        self.db, self.fx, self.interval_s = db, fx, interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def tick(self, now: datetime | None = None) -> Reconciled:
        """One pass; ``now`` may be given to judge leases and ages at another time."""
        with self.db.session() as session:
            expired = expire_leases(session, self.fx, now)
        with self.db.session() as session:
            resent = resend_lost(session, self.fx, now)
        if expired or resent:
            log.info("reconciled: %d expired lease(s), %d run(s) re-sent",
                     len(expired), len(resent))
        return Reconciled(expired, resent)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="squeezelab-reconciler",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the loop to end and wait for a tick in progress (bounded by the broker's
        and the database's own timeouts)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        # The first tick waits one interval: a starting process has nothing urgent to do,
        # and tests that start and stop apps quickly are left alone.
        while not self._stop.wait(self.interval_s):
            try:
                self.tick()
            except Exception as exc:
                # The database or broker is down: try again next tick. The traceback is
                # logged once per outage, not every few seconds.
                log.warning("reconciler tick failed: %s", exc, exc_info=not self._failing)
                self._failing = True
            else:
                self._failing = False
