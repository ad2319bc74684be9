"""Sweep status follows its runs: running once one starts, ended once all have ended."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.models import Run, Sweep, utcnow


def run_counts(session: Session, sweep_ids: list[int]) -> dict[int, dict[str, int]]:
    """Runs by status for each sweep, in one grouped query."""
    counts: dict[int, dict[str, int]] = {sid: {} for sid in sweep_ids}
    if not sweep_ids:
        return counts
    rows = session.execute(
        select(Run.sweep_id, Run.status, func.count())
        .where(Run.sweep_id.in_(sweep_ids)).group_by(Run.sweep_id, Run.status))
    for sweep_id, status, n in rows:
        counts[sweep_id][status] = n
    return counts


def mark_sweep_running(session: Session, sweep_id: int) -> None:
    session.execute(update(Sweep).where(Sweep.id == sweep_id, Sweep.status == "queued")
                    .values(status="running", updated_at=utcnow()))


def sweep_outcome(counts: dict[str, int]) -> str | None:
    """The final status once no run is queued or running, else None."""
    if counts.get("queued") or counts.get("running"):
        return None
    if counts.get("failed"):
        return "failed"
    if counts.get("cancelled"):
        return "cancelled"
    return "succeeded"


def maybe_end_sweep(session: Session, sweep_id: int) -> None:
    """End the sweep when every run has ended. The sweep row is locked first so that two
    runs ending at once cannot both miss each other's update (PostgreSQL)."""
    sweep = session.get(Sweep, sweep_id, with_for_update=True, populate_existing=True)
    if sweep is None:
        return
    session.flush()
    outcome = sweep_outcome(run_counts(session, [sweep_id])[sweep_id])
    if outcome is not None and sweep.status != outcome:
        sweep.status = outcome
        sweep.ended_at = utcnow()
