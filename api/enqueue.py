"""How the API hands runs to workers: by run id on a queue, through an ``Enqueuer``.

The Celery producer (task name ``squeezelab.run``) implements this protocol in the workers
issue; the API imports no worker code. Until a producer is configured, runs stay ``queued``
in the database, which is the source of truth, and the reconciler sends them later.
"""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger("squeezelab.api.enqueue")


class Enqueuer(Protocol):
    def enqueue(self, run_id: int, queue: str) -> None:
        """Send one run to a worker queue; may raise if the broker is unreachable."""


class DeferredEnqueuer:
    """Sends nothing: runs stay queued until a reconciler with a real producer sends them."""

    def enqueue(self, run_id: int, queue: str) -> None:
        log.debug("run %s left queued for %s (no producer configured)", run_id, queue)


def enqueue_all(enqueuer: Enqueuer, runs: list[tuple[int, str]]) -> int:
    """Enqueue after commit; a broker failure leaves the rest queued. Returns how many went."""
    sent = 0
    for run_id, queue in runs:
        try:
            enqueuer.enqueue(run_id, queue)
        except Exception:
            log.warning("could not enqueue run %s; it stays queued for the reconciler",
                        run_id, exc_info=True)
            continue
        sent += 1
    return sent
