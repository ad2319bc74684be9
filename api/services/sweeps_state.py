"""Sweep status follows its runs: running once one starts, ended once all have ended,
and then its gates are evaluated and stored on it (and a CI sweep's verdict is queued as a
commit status, api.services.statuses)."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.models import Run, Sweep, utcnow
from api.services.gates import RunOutcome, evaluate_gates
from api.services.statuses import stage_final
from compression.spec.models import GatesSpec

log = logging.getLogger("squeezelab.api.sweeps")


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


def gates_report(session: Session, sweep: Sweep) -> dict[str, Any]:
    """Evaluate the sweep's gates over its succeeded compress runs, as stored JSON."""
    spec = sweep.spec if isinstance(sweep.spec, dict) else {}
    recipes = [r["name"] for r in spec.get("recipes") or []
               if isinstance(r, dict) and isinstance(r.get("name"), str)]
    try:
        gates = GatesSpec.model_validate(spec.get("gates") or {})
    except ValidationError:  # validated at submission; a later schema may disagree
        log.warning("sweep %s: stored gates no longer validate", sweep.id, exc_info=True)
        return {"passed": False, "apply_to": "best", "results": [], "best": None,
                "description": "failed: the sweep's gates are not valid"}
    rows = session.execute(select(Run.id, Run.variant, Run.summary).where(
        Run.sweep_id == sweep.id, Run.kind == "compress", Run.status == "succeeded"))
    runs = [RunOutcome(rid, variant, summary if isinstance(summary, dict) else {})
            for rid, variant, summary in rows]
    return evaluate_gates(gates, runs, recipes).model_dump(mode="json")


def maybe_end_sweep(session: Session, sweep_id: int) -> str | None:
    """End the sweep when every run has ended, with its gates evaluated; returns the new
    status, or None when the sweep goes on (or had already ended so). The sweep row is
    locked first so that two runs ending at once cannot both miss each other's update
    (PostgreSQL)."""
    sweep = session.get(Sweep, sweep_id, with_for_update=True, populate_existing=True)
    if sweep is None:
        return None
    session.flush()
    counts = run_counts(session, [sweep_id])[sweep_id]
    outcome = sweep_outcome(counts)
    if outcome is None or sweep.status == outcome:
        return None
    sweep.status = outcome
    sweep.ended_at = utcnow()
    sweep.gates = gates_report(session, sweep)
    stage_final(session, sweep, counts.get("failed", 0))
    return outcome
