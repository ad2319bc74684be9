"""The run state machine: queued -> running -> succeeded | failed | cancelled.

Every transition is one conditional UPDATE (atomic on PostgreSQL and SQLite); when it
matches no row, ``_refusal`` works out why and raises the matching typed error (409/404,
or 403 for a caller whose token did not claim the lease: ``api.services.leases``).
A transition that ends runs counts them off their sweep last before its commit
(``runs_ended``), which ends the sweep when they were its last.
Enqueueing and events happen after the commit, so a broker failure never loses a run;
a run is stamped ``enqueued_at`` in the transaction that makes it ready to send (see
``api.services.dispatch``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from api.errors import ApiError, ConflictError, IllegalTransitionError, LeaseError, NotFoundError
from api.models import Run, utcnow
from api.services.context import Effects
from api.services.dispatch import ready, send
from api.services.leases import bound_elsewhere, foreign_token, token_holds
from api.services.sweeps_state import mark_sweep_running, runs_ended

TERMINAL = ("succeeded", "failed", "cancelled")


def get_run(session: Session, run_id: int) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise NotFoundError("run", run_id)
    return run


def _refusal(session: Session, run_id: int, worker_id: str | None, action: str,
             token_id: int | None = None) -> ApiError:
    run = session.get(Run, run_id, populate_existing=True)
    if run is None:
        return NotFoundError("run", run_id)
    if run.status == "running" and worker_id is not None and run.lease_owner != worker_id:
        return LeaseError(f"run {run_id} is leased by another worker")
    if run.status == "running" and bound_elsewhere(run.lease_token_id, token_id):
        return foreign_token(run_id, action)
    if run.status == "queued" and run.depends_on_id is not None:
        return ConflictError(f"run {run_id} waits for its baseline run {run.depends_on_id}")
    return IllegalTransitionError("run", run_id, run.status, action)


def _changed(result: Any) -> bool:
    return isinstance(result, CursorResult) and result.rowcount > 0


def _updated(session: Session, stmt: Any) -> Run | None:
    """Run a conditional UPDATE of one run; the run as updated (one round trip), or None
    when no row matched."""
    run: Run | None = session.scalars(
        stmt.returning(Run).execution_options(synchronize_session=False,
                                              populate_existing=True)).one_or_none()
    return run


def claim(session: Session, fx: Effects, run_id: int, worker_id: str,
          token_id: int | None = None) -> Run:
    """queued -> running with a lease bound to ``worker_id`` and to the caller's token
    (``token_id``, None with auth off); a second claim of the same run gets 409."""
    now = utcnow()
    run = _updated(session, update(Run)
                   .where(Run.id == run_id, Run.status == "queued", ready())
                   .values(status="running", attempt=Run.attempt + 1, lease_owner=worker_id,
                           lease_token_id=token_id,
                           lease_expires_at=now + timedelta(seconds=fx.settings.lease_seconds),
                           started_at=now, cancel_requested=False))
    if run is None:
        raise _refusal(session, run_id, worker_id, "claim")
    mark_sweep_running(session, run.sweep_id)
    session.commit()
    _publish(fx, run)
    return run


def _owned(worker_id: str | None, token_id: int | None = None) -> Any:
    return (Run.status == "running") & (Run.lease_owner == worker_id) & token_holds(token_id)


def heartbeat(session: Session, fx: Effects, run_id: int, worker_id: str,
              token_id: int | None = None) -> tuple[bool, datetime | None]:
    """Renew the lease; returns (cancel, new expiry). A cancelled run answers cancel=True.

    A lease that has expired is not renewed, even before the reaper has requeued the run:
    another worker may be about to claim it, and two holders of one run is what leases are
    for preventing. The caller must hold the lease: ``worker_id`` and its token
    (``token_id``), else 409 (another worker's lease) or 403 (another token's)."""
    now = utcnow()
    expires = now + timedelta(seconds=fx.settings.lease_seconds)
    result = session.execute(
        update(Run).where(Run.id == run_id, _owned(worker_id, token_id),
                          Run.lease_expires_at > now)
        .values(lease_expires_at=expires).execution_options(synchronize_session=False))
    if _changed(result):
        session.commit()
        return False, expires
    run = session.get(Run, run_id, populate_existing=True)
    if run is not None and run.status == "cancelled":
        return True, None
    if (run is not None and run.status == "running" and run.lease_owner == worker_id
            and not bound_elsewhere(run.lease_token_id, token_id)
            and run.lease_expires_at is not None):
        raise LeaseError(f"the lease of run {run_id} expired at "
                         f"{run.lease_expires_at.isoformat()}: it is no longer this worker's")
    raise _refusal(session, run_id, worker_id, "renew its lease", token_id)


def complete(session: Session, fx: Effects, run_id: int, worker_id: str,
             summary: dict[str, Any], token_id: int | None = None) -> Run:
    """running -> succeeded; a baseline's dependents are then enqueued. Only the lease's
    worker and token may complete (409 / 403, as for ``heartbeat``)."""
    run = _updated(session, update(Run).where(Run.id == run_id, _owned(worker_id, token_id))
                   .values(status="succeeded", summary=summary, ended_at=utcnow(),
                           error=None, lease_expires_at=None))
    if run is None:
        raise _refusal(session, run_id, worker_id, "complete", token_id)
    dependents: list[tuple[int, str]] = []
    if run.kind == "baseline":
        rows = session.execute(
            update(Run).where(Run.depends_on_id == run.id, Run.status == "queued")
            .values(enqueued_at=utcnow()).returning(Run.id, Run.queue)
            .execution_options(synchronize_session=False))
        dependents = sorted((r.id, r.queue) for r in rows)
    ended = runs_ended(session, run.sweep_id, 1)
    session.commit()
    _publish(fx, run, ended)
    send(session, fx.enqueuer, dependents)
    return run


def fail(session: Session, fx: Effects, run_id: int, worker_id: str, error: dict[str, Any],
         retryable: bool, *, summary: dict[str, Any] | None = None,
         token_id: int | None = None) -> Run:
    """running -> failed, or back to queued when retryable and attempts remain. ``summary``:
    the figures of a run that finished but failed the result guard, kept on the run. Only
    the lease's worker and token may fail it (409 / 403, as for ``heartbeat``)."""
    run = session.get(Run, run_id, populate_existing=True)
    if (run is None or run.status != "running" or run.lease_owner != worker_id
            or bound_elsewhere(run.lease_token_id, token_id)):
        raise _refusal(session, run_id, worker_id, "fail", token_id)
    again = retryable and run.attempt < fx.settings.max_attempts
    if not _end_attempt(session, fx, run, error, requeue=again,
                        extra={} if summary is None or again else {"summary": summary}):
        raise _refusal(session, run_id, worker_id, "fail", token_id)
    return run


def _end_attempt(session: Session, fx: Effects, run: Run, error: dict[str, Any],
                 requeue: bool, *guards: Any, extra: dict[str, Any] | None = None) -> bool:
    """End ``run``'s current attempt: back to queued (stamped, then sent) or failed.

    One conditional UPDATE on the attempt that was read, so a worker that fails its run
    while another API process reaps its lease ends the attempt only once. Returns False,
    having changed nothing, when the run moved on meanwhile.
    """
    now = utcnow()
    # The error keeps the attempt and the worker: the lease (and its owner) ends here.
    values: dict[str, Any] = {"error": {**error, "attempt": run.attempt,
                                        "worker": run.lease_owner},
                              "lease_owner": None, "lease_token_id": None,
                              "lease_expires_at": None}
    if requeue:
        values.update(status="queued", enqueued_at=now)
    else:
        values.update(status="failed", ended_at=now, **(extra or {}))
    result = session.execute(
        update(Run).where(Run.id == run.id, _owned(run.lease_owner),
                          Run.attempt == run.attempt, *guards)
        .values(**values).execution_options(synchronize_session=False))
    if not _changed(result):
        session.rollback()
        return False
    session.refresh(run)
    ended = None
    if not requeue:
        dependents = _end_dependents(session, run, "failed", {
            "type": "DependencyFailed", "message": f"baseline run {run.id} failed"})
        ended = runs_ended(session, run.sweep_id, 1 + dependents)
    session.commit()
    _publish(fx, run, ended)
    if requeue:
        send(session, fx.enqueuer, [(run.id, run.queue)])
    return True


def _end_dependents(session: Session, run: Run, status: str,
                    error: dict[str, Any] | None) -> int:
    """End the queued runs that wait for baseline ``run``; returns how many."""
    if run.kind != "baseline":
        return 0
    result = session.execute(
        update(Run).where(Run.depends_on_id == run.id, Run.status == "queued")
        .values(status=status, error=error, ended_at=utcnow())
        .execution_options(synchronize_session=False))
    return result.rowcount if isinstance(result, CursorResult) else 0


def cancel(session: Session, fx: Effects, run_id: int) -> Run:
    """queued|running -> cancelled; a running worker learns it from its next heartbeat."""
    run = _updated(session, update(Run)
                   .where(Run.id == run_id, Run.status.in_(("queued", "running")))
                   .values(status="cancelled", cancel_requested=True, ended_at=utcnow()))
    if run is None:
        raise _refusal(session, run_id, None, "cancel")
    dependents = _end_dependents(session, run, "cancelled", None)
    ended = runs_ended(session, run.sweep_id, 1 + dependents)
    session.commit()
    _publish(fx, run, ended)
    return run


def expire_leases(session: Session, fx: Effects, now: datetime | None = None) -> list[int]:
    """Requeue (and re-send) running runs whose lease expired (worker died), or fail them
    after ``max_attempts``. Called periodically by the reconciler; returns the run ids it
    ended. A lease renewed after the read, or a run another process reaped, is skipped."""
    now = now or utcnow()
    expired = session.scalars(select(Run).where(
        Run.status == "running", Run.lease_expires_at < now).order_by(Run.id)).all()
    session.commit()
    ended: list[int] = []
    for run in expired:
        error = {"type": "LeaseExpired",
                 "message": f"worker {run.lease_owner} stopped renewing its lease"}
        if _end_attempt(session, fx, run, error, run.attempt < fx.settings.max_attempts,
                        Run.lease_expires_at < now):
            ended.append(run.id)
    return ended


def _publish(fx: Effects, run: Run, sweep_status: str | None = None) -> None:
    """Tell subscribers about the run and, when it ended its sweep, about the sweep."""
    fx.events.publish(run.sweep_id, {"type": "run", "run_id": run.id, "status": run.status,
                                     "attempt": run.attempt})
    if sweep_status is not None:
        fx.events.publish(run.sweep_id, {"type": "sweep", "sweep_id": run.sweep_id,
                                         "status": sweep_status})
