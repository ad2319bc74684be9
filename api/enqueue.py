"""How the API hands runs to workers: by run id on a queue, through an ``Enqueuer``.

``api.producer.CeleryProducer`` implements this protocol (task name ``squeezelab.run``);
the API imports no worker code. Without a broker, runs stay ``queued`` in the database,
which is the source of truth, and the reconciler sends what a broker never received.
"""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

log = logging.getLogger("squeezelab.api.enqueue")


class Enqueuer(Protocol):
    def enqueue(self, run_id: int, queue: str) -> None:
        """Send one run to a worker queue; may raise if the broker is unreachable."""


@runtime_checkable
class QueueDepth(Protocol):
    """An enqueuer that can also say how many messages wait in a queue."""

    def queue_depth(self, queue: str) -> int | None:
        """Messages waiting (not yet delivered) in ``queue``; None when unknown."""


class DeferredEnqueuer:
    """Sends nothing: runs stay queued until a reconciler with a real producer sends them."""

    def enqueue(self, run_id: int, queue: str) -> None:
        log.debug("run %s left queued for %s (no producer configured)", run_id, queue)


def enqueue_all(enqueuer: Enqueuer, runs: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Enqueue after commit; returns the runs that were not sent.

    The first failure stops the loop: the broker is evidently down, and trying each
    remaining run would hold the request for one connection timeout per run. Those runs
    stay queued and the reconciler sends them once the broker is back.
    """
    for index, (run_id, queue) in enumerate(runs):
        try:
            enqueuer.enqueue(run_id, queue)
        except Exception:
            log.warning("could not enqueue run %s; %d run(s) stay queued for the reconciler",
                        run_id, len(runs) - index, exc_info=True)
            return runs[index:]
    return []
