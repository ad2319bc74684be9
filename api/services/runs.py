"""The run state machine: queued -> running -> succeeded | failed | cancelled.

Every transition is one conditional UPDATE (atomic on PostgreSQL and SQLite); when it
matches no row, ``_refusal`` works out why and raises the matching typed error (409/404).
Enqueueing and events happen after the commit, so a broker failure never loses a run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, exists, select, update
from sqlalchemy.orm import Session, aliased

from api.enqueue import enqueue_all
from api.errors import ApiError, ConflictError, IllegalTransitionError, LeaseError, NotFoundError
from api.models import Run, utcnow
from api.services.context import Effects
from api.services.sweeps_state import mark_sweep_running, maybe_end_sweep

TERMINAL = ("succeeded", "failed", "cancelled")


def get_run(session: Session, run_id: int) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise NotFoundError("run", run_id)
    return run


def _refusal(session: Session, run_id: int, worker_id: str | None, action: str) -> ApiError:
    run = session.get(Run, run_id, populate_existing=True)
    if run is None:
        return NotFoundError("run", run_id)
    if run.status == "running" and worker_id is not None and run.lease_owner != worker_id:
        return LeaseError(f"run {run_id} is leased by another worker")
    if run.status == "queued" and run.depends_on_id is not None:
        return ConflictError(f"run {run_id} waits for its baseline run {run.depends_on_id}")
    return IllegalTransitionError("run", run_id, run.status, action)


def _changed(result: Any) -> bool:
    return isinstance(result, CursorResult) and result.rowcount > 0


def claim(session: Session, fx: Effects, run_id: int, worker_id: str) -> Run:
    """queued -> running with a lease; a second claim of the same run gets 409."""
    now = utcnow()
    base = aliased(Run)
    ready = (Run.depends_on_id.is_(None)
             | exists().where(base.id == Run.depends_on_id, base.status == "succeeded"))
    result = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == "queued", ready)
        .values(status="running", attempt=Run.attempt + 1, lease_owner=worker_id,
                lease_expires_at=now + timedelta(seconds=fx.settings.lease_seconds),
                started_at=now, cancel_requested=False)
        .execution_options(synchronize_session=False))
    if not _changed(result):
        raise _refusal(session, run_id, worker_id, "claim")
    run = get_run(session, run_id)
    session.refresh(run)
    mark_sweep_running(session, run.sweep_id)
    session.commit()
    _publish(fx, run)
    return run


def _owned(worker_id: str) -> Any:
    return (Run.status == "running") & (Run.lease_owner == worker_id)


def heartbeat(session: Session, fx: Effects, run_id: int,
              worker_id: str) -> tuple[bool, datetime | None]:
    """Renew the lease; returns (cancel, new expiry). A cancelled run answers cancel=True."""
    expires = utcnow() + timedelta(seconds=fx.settings.lease_seconds)
    result = session.execute(
        update(Run).where(Run.id == run_id, _owned(worker_id))
        .values(lease_expires_at=expires).execution_options(synchronize_session=False))
    if _changed(result):
        session.commit()
        return False, expires
    run = session.get(Run, run_id, populate_existing=True)
    if run is not None and run.status == "cancelled":
        return True, None
    raise _refusal(session, run_id, worker_id, "renew its lease")


def complete(session: Session, fx: Effects, run_id: int, worker_id: str,
             summary: dict[str, Any]) -> Run:
    """running -> succeeded; a baseline's dependents are then enqueued."""
    result = session.execute(
        update(Run).where(Run.id == run_id, _owned(worker_id))
        .values(status="succeeded", summary=summary, ended_at=utcnow(), error=None,
                lease_expires_at=None).execution_options(synchronize_session=False))
    if not _changed(result):
        raise _refusal(session, run_id, worker_id, "complete")
    run = get_run(session, run_id)
    session.refresh(run)
    dependents: list[tuple[int, str]] = []
    if run.kind == "baseline":
        rows = session.execute(select(Run.id, Run.queue).where(
            Run.depends_on_id == run.id, Run.status == "queued").order_by(Run.id))
        dependents = [(r.id, r.queue) for r in rows]
    maybe_end_sweep(session, run.sweep_id)
    session.commit()
    _publish(fx, run)
    enqueue_all(fx.enqueuer, dependents)
    return run


def fail(session: Session, fx: Effects, run_id: int, worker_id: str, error: dict[str, Any],
         retryable: bool) -> Run:
    """running -> failed, or back to queued when retryable and attempts remain."""
    run = session.get(Run, run_id, populate_existing=True)
    if run is None or run.status != "running" or run.lease_owner != worker_id:
        raise _refusal(session, run_id, worker_id, "fail")
    again = retryable and run.attempt < fx.settings.max_attempts
    return _end_attempt(session, fx, run, error, requeue=again)


def _end_attempt(session: Session, fx: Effects, run: Run, error: dict[str, Any],
                 requeue: bool) -> Run:
    run.error = {**error, "attempt": run.attempt}
    run.lease_owner = None
    run.lease_expires_at = None
    if requeue:
        run.status = "queued"
    else:
        run.status = "failed"
        run.ended_at = utcnow()
        _end_dependents(session, run, "failed", {
            "type": "DependencyFailed", "message": f"baseline run {run.id} failed"})
        maybe_end_sweep(session, run.sweep_id)
    session.commit()
    _publish(fx, run)
    if requeue:
        enqueue_all(fx.enqueuer, [(run.id, run.queue)])
    return run


def _end_dependents(session: Session, run: Run, status: str,
                    error: dict[str, Any] | None) -> None:
    if run.kind != "baseline":
        return
    session.execute(
        update(Run).where(Run.depends_on_id == run.id, Run.status == "queued")
        .values(status=status, error=error, ended_at=utcnow())
        .execution_options(synchronize_session=False))


def cancel(session: Session, fx: Effects, run_id: int) -> Run:
    """queued|running -> cancelled; a running worker learns it from its next heartbeat."""
    result = session.execute(
        update(Run).where(Run.id == run_id, Run.status.in_(("queued", "running")))
        .values(status="cancelled", cancel_requested=True, ended_at=utcnow())
        .execution_options(synchronize_session=False))
    if not _changed(result):
        raise _refusal(session, run_id, None, "cancel")
    run = get_run(session, run_id)
    session.refresh(run)
    _end_dependents(session, run, "cancelled", None)
    maybe_end_sweep(session, run.sweep_id)
    session.commit()
    _publish(fx, run)
    return run


def expire_leases(session: Session, fx: Effects, now: datetime | None = None) -> list[int]:
    """Requeue running runs whose lease expired (worker died), or fail them after
    ``max_attempts``. Called periodically by the reconciler; returns the affected run ids."""
    now = now or utcnow()
    expired = session.scalars(select(Run).where(
        Run.status == "running", Run.lease_expires_at < now).order_by(Run.id)).all()
    for run in expired:
        error = {"type": "LeaseExpired",
                 "message": f"worker {run.lease_owner} stopped renewing its lease"}
        _end_attempt(session, fx, run, error,
                     requeue=run.attempt < fx.settings.max_attempts)
    return [run.id for run in expired]


def _publish(fx: Effects, run: Run) -> None:
    fx.events.publish(run.sweep_id, {"type": "run", "run_id": run.id, "status": run.status,
                                     "attempt": run.attempt})
