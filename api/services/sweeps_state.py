"""Sweep status follows its runs: running once one starts, ended once all have ended,
and then its gates are evaluated and stored on it (and a CI sweep's verdict is queued as a
commit status, api.services.statuses).

Whether a run's end was the sweep's last is read from a counter of its unfinished runs
(``sweeps.runs_unfinished``), kept by every transition that ends or requeues runs, so the
check costs one UPDATE however many runs the sweep has; the runs are counted once, at
the end."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from api.models import Base, Run, Sweep, utcnow
from api.services.gates import RunOutcome, evaluate_gates
from api.services.statuses import stage_final
from compression.spec.models import GatesSpec

log = logging.getLogger("squeezelab.api.sweeps")
# Built once, on the table (no ORM bookkeeping): a run's end in a big sweep is a hot path.
_SWEEPS = Base.metadata.tables["sweeps"]
_COUNT_OFF = (update(_SWEEPS).where(_SWEEPS.c.id == bindparam("sweep_id"))
              .values(runs_unfinished=_SWEEPS.c.runs_unfinished - bindparam("n"))
              .returning(_SWEEPS.c.runs_unfinished))


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


def runs_ended(session: Session, sweep_id: int, n: int) -> str | None:
    """Count ``n`` runs of the sweep off as ended; when none is left queued or running, end
    the sweep with its gates. Returns the sweep's new status, or None while it goes on.

    Call it last before the commit: its one UPDATE locks the sweep row until then, which
    serialises the runs ending at once, so exactly one of them sees the counter reach 0
    (and, committed before it, all the others' runs). Only that one counts the runs.
    """
    left = session.execute(_COUNT_OFF, {"sweep_id": sweep_id, "n": n}).scalar()
    if left is None or left > 0:
        return None
    return _end_sweep(session, sweep_id)


def runs_restarted(session: Session, sweep_id: int, n: int) -> None:
    """Count ``n`` ended runs of the sweep as queued again (retry)."""
    session.execute(_COUNT_OFF, {"sweep_id": sweep_id, "n": -n})


def _end_sweep(session: Session, sweep_id: int) -> str | None:
    """End the sweep if every run has ended, by a full count; returns the new status, or
    None when it goes on (the counter was off: it is set to the count) or had already
    ended so. The caller holds the sweep row's lock."""
    sweep = session.get(Sweep, sweep_id, populate_existing=True)
    if sweep is None:
        return None
    session.flush()
    counts = run_counts(session, [sweep_id])[sweep_id]
    outcome = sweep_outcome(counts)
    if outcome is None:
        unfinished = counts.get("queued", 0) + counts.get("running", 0)
        log.warning("sweep %s: %s unfinished runs, counted %s; counter reset", sweep_id,
                    sweep.runs_unfinished, unfinished)
        sweep.runs_unfinished = unfinished
        return None
    sweep.runs_unfinished = 0
    if sweep.status == outcome:
        return None
    sweep.status = outcome
    sweep.ended_at = utcnow()
    sweep.gates = gates_report(session, sweep)
    stage_final(session, sweep, counts.get("failed", 0))
    return outcome
