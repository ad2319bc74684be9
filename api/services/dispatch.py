"""Sending runs to the broker and finding those whose message was lost.

``runs.enqueued_at`` says when a run was last handed to the broker. It is stamped in the
same transaction that makes a run ready to send (submit, a baseline's success, a requeue),
so a crash between commit and send still leaves a stamp for the reconciler to age; a send
that fails resets it to NULL, so the next reconciler tick sends the run again.

Which stamped runs count as lost is decided per queue by comparison with the broker:
a queued, ready run whose message still waits is one message in the queue, so when the
broker holds fewer messages than the database has such runs, the difference was lost
(a broker restarted without its data, a message dropped). Only that many runs are
re-sent, oldest first, and only runs older than ``requeue_after_s``, so a message that a
worker has just taken but not yet claimed is not mistaken for a loss. A re-sent message
that was not lost after all is harmless: the second claim gets 409 and the worker drops
it. When the broker cannot say how deep a queue is, nothing stamped is re-sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from api.enqueue import Enqueuer, QueueDepth, enqueue_all
from api.models import Run, utcnow
from api.services.context import Effects

log = logging.getLogger("squeezelab.api.dispatch")

# At most this many runs are re-sent per queue and tick, so that a reconciler that
# misjudges a queue cannot flood it; the rest follow on the next ticks.
MAX_RESEND_PER_TICK = 500


_BASE = aliased(Run)
# Built once: aliasing the mapper costs about 2 ms, and every claim asks this.
_READY = (Run.depends_on_id.is_(None)
          | exists().where(_BASE.id == Run.depends_on_id, _BASE.status == "succeeded"))


def ready() -> Any:
    """SQL condition: the run has no baseline, or its baseline has succeeded."""
    return _READY


def send(session: Session, enqueuer: Enqueuer, runs: list[tuple[int, str]]) -> list[int]:
    """After the commit that stamped ``runs``: enqueue them; unstamp those not sent.

    Returns the ids sent. If the database is unreachable for the unstamping, the runs
    keep their stamp and the reconciler treats them as lost once they have aged.
    """
    unsent = enqueue_all(enqueuer, runs)
    if unsent:
        try:
            session.execute(
                update(Run).where(Run.id.in_([rid for rid, _ in unsent]),
                                  Run.status == "queued")
                .values(enqueued_at=None).execution_options(synchronize_session=False))
            session.commit()
        except Exception:
            session.rollback()
            log.warning("could not unstamp %d unsent run(s)", len(unsent), exc_info=True)
    failed = {rid for rid, _ in unsent}
    return [rid for rid, _ in runs if rid not in failed]


@dataclass(frozen=True)
class Backlog:
    """Stamped, queued, ready runs of one queue, as the database sees them."""

    sent: int  # stamped before the broker was asked how deep the queue is
    stale: int  # of those, stamped longer than requeue_after_s ago


def plan_resend(backlog: Mapping[str, Backlog], depth: Mapping[str, int | None],
                limit: int = MAX_RESEND_PER_TICK) -> dict[str, int]:
    """How many stale runs to re-send per queue: the messages the broker is missing.

    depth: messages waiting per queue, None where the broker could not tell (then none).
    """
    plan: dict[str, int] = {}
    for queue, counts in backlog.items():
        waiting = depth.get(queue)
        if waiting is None:
            continue
        missing = min(counts.sent - waiting, counts.stale, limit)
        if missing > 0:
            plan[queue] = missing
    return plan


def _backlog(session: Session, sent_before: datetime, cutoff: datetime) -> dict[str, Backlog]:
    rows = session.execute(
        select(Run.queue, func.count(),
               func.sum(case((Run.enqueued_at < cutoff, 1), else_=0)))
        .where(Run.status == "queued", Run.enqueued_at < sent_before, ready())
        .group_by(Run.queue))
    return {queue: Backlog(int(sent), int(stale or 0)) for queue, sent, stale in rows}


def _depths(enqueuer: Enqueuer, queues: list[str]) -> dict[str, int | None]:
    if not isinstance(enqueuer, QueueDepth):
        return {}
    depths: dict[str, int | None] = {}
    for queue in queues:
        try:
            depths[queue] = enqueuer.queue_depth(queue)
        except Exception:
            log.warning("could not read the depth of queue %s", queue, exc_info=True)
            depths[queue] = None
    return depths


def resend_lost(session: Session, fx: Effects, now: datetime | None = None) -> list[int]:
    """Send queued, ready runs that were never sent, or whose message the broker lost.

    Each run is first re-stamped with a conditional UPDATE, so when several API
    processes reconcile at once only one of them sends a given run. Returns the ids sent.
    """
    now = now or utcnow()
    cutoff = now - timedelta(seconds=fx.settings.requeue_after_s)
    queues = list(session.scalars(select(Run.queue).where(Run.status == "queued").distinct()))
    if not queues:
        session.rollback()
        return []
    # The broker first, then the database: a run claimed in between is then missing from
    # both counts, and runs stamped after this moment are left out of the comparison.
    depths = _depths(fx.enqueuer, queues)
    plan = plan_resend(_backlog(session, now, cutoff), depths)
    candidates = list(session.scalars(
        select(Run.id).where(Run.status == "queued", Run.enqueued_at.is_(None), ready())
        .order_by(Run.id).limit(MAX_RESEND_PER_TICK)))
    for queue, count in plan.items():
        candidates += session.scalars(
            select(Run.id).where(Run.status == "queued", Run.queue == queue,
                                 Run.enqueued_at < cutoff, ready())
            .order_by(Run.enqueued_at, Run.id).limit(count))
    if not candidates:
        session.rollback()
        return []
    claimed = session.execute(
        update(Run).where(Run.id.in_(candidates), Run.status == "queued",
                          Run.enqueued_at.is_(None) | (Run.enqueued_at < cutoff))
        .values(enqueued_at=now).returning(Run.id, Run.queue)
        .execution_options(synchronize_session=False)).all()
    session.commit()
    runs = sorted((row.id, row.queue) for row in claimed)
    if runs:
        log.info("re-sending %d queued run(s) the broker does not hold: %s",
                 len(runs), [rid for rid, _ in runs][:20])
    return send(session, fx.enqueuer, runs)
