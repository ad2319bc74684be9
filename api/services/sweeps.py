"""Sweeps: submit (validate, expand, store in one transaction, enqueue), list, cancel,
retry-failed and delete."""

from __future__ import annotations

import itertools
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, delete, insert, select, update
from sqlalchemy.orm import Session

from api.errors import IllegalTransitionError, NotFoundError
from api.models import MetricPoint, MetricRollup, Run, Sweep, utcnow
from api.services.context import Effects
from api.services.dispatch import send
from api.services.pagination import decode_cursor, encode_cursor
from api.services.statuses import stage_pending, stage_retry
from api.services.sweeps_state import run_counts, runs_ended, runs_restarted
from api.services.uploads import missing_uploads
from compression.errors import FieldError, InvalidSpecError
from compression.spec import RunConfig, SweepSpec, check_run_count, expand, iter_runs, run_count

# Sweeps from these sources report commit statuses (when a trigger of their repo has a token).
CI_SOURCES = ("ci", "webhook")


@dataclass(frozen=True)
class Provenance:
    """Where a sweep came from: the API, the CLI, ``squeezelab ci`` or a CI webhook
    (repo@sha; ``trigger_id``: the webhook's trigger)."""

    source: str = "api"
    repo: str | None = None
    ref: str | None = None
    sha: str | None = None
    trigger_id: int | None = None


@dataclass(frozen=True)
class StoredSweep:
    sweep: Sweep
    baseline_ids: list[int]
    run_ids: list[int]


def variant_of(run_name: str) -> str:
    return run_name.rsplit("@seed", 1)[0]


def _row(sweep_id: int, cfg: RunConfig, depends_on: int | None,
         enqueued_at: datetime | None = None) -> dict[str, Any]:
    return {"sweep_id": sweep_id, "name": cfg.name, "variant": variant_of(cfg.name),
            "kind": cfg.kind, "status": "queued", "seed": cfg.seed, "queue": cfg.queue,
            "config": cfg.model_dump(mode="json"), "config_hash": cfg.config_hash,
            "baseline_key": cfg.baseline_key, "depends_on_id": depends_on, "attempt": 0,
            "cancel_requested": False, "enqueued_at": enqueued_at}


def _insert_runs(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    stmt = insert(Run).returning(Run.id, sort_by_parameter_order=True)
    return list(session.scalars(stmt, rows))


def check_references(session: Session, spec: SweepSpec) -> None:
    """Refuse (422) a spec naming an upload that does not exist: a worker would fail on it."""
    weights = spec.baseline.weights
    missing = missing_uploads(session, {"/baseline/weights": weights} if weights else {})
    if missing:
        raise InvalidSpecError([FieldError(v.pointer, v.message) for v in missing])


@dataclass(frozen=True)
class PlanPage:
    """One page of the runs a spec expands to, and how many there are in all."""

    runs: list[RunConfig]
    run_count: int
    baseline_count: int
    next_cursor: str | None


def plan_sweep(session: Session, spec: SweepSpec, max_runs: int, limit: int,
               cursor: str | None) -> PlanPage:
    """A dry run: the runs from ``cursor`` on (at most ``limit``); nothing is stored."""
    check_references(session, spec)
    check_run_count(spec, max_runs)
    page = decode_cursor(cursor, "offset")
    offset = page["offset"] if page else 0
    total = run_count(spec)
    runs = list(itertools.islice(iter_runs(spec, offset), limit))
    more = encode_cursor({"offset": offset + limit}) if offset + limit < total else None
    return PlanPage(runs, total, len(spec.seeds), more)


def create_sweep(session: Session, fx: Effects, spec: SweepSpec, raw: dict[str, Any],
                 provenance: Provenance) -> StoredSweep:
    """Store the sweep and all its runs in one transaction, then enqueue the baselines."""
    check_references(session, spec)
    configs = expand(spec, max_runs=fx.settings.max_runs)
    sweep = Sweep(name=spec.name, task=spec.task_name, status="queued", source=provenance.source,
                  repo=provenance.repo, ref=provenance.ref, sha=provenance.sha, spec=raw,
                  runs_unfinished=len(configs))
    session.add(sweep)
    session.flush()
    baselines = [c for c in configs if c.kind == "baseline"]
    # Stamped as sent in this transaction (see api.services.dispatch), sent after commit.
    now = utcnow()
    baseline_ids = _insert_runs(session, [_row(sweep.id, c, None, now) for c in baselines])
    by_key = {c.baseline_key: rid for c, rid in zip(baselines, baseline_ids, strict=True)}
    compress_ids = _insert_runs(session, [_row(sweep.id, c, by_key[c.baseline_key])
                                          for c in configs if c.kind == "compress"])
    if provenance.source in CI_SOURCES:
        stage_pending(session, sweep, provenance.trigger_id, fx.settings.public_url,
                      len(configs))
    session.commit()
    fx.events.publish(sweep.id, {"type": "sweep", "status": sweep.status})
    send(session, fx.enqueuer, [(rid, spec.queue) for rid in baseline_ids])
    return StoredSweep(sweep, baseline_ids, baseline_ids + compress_ids)


def get_sweep(session: Session, sweep_id: int) -> Sweep:
    sweep = session.get(Sweep, sweep_id)
    if sweep is None:
        raise NotFoundError("sweep", sweep_id)
    return sweep


@dataclass(frozen=True)
class SweepFilters:
    status: str | None = None
    task: str | None = None
    source: str | None = None
    name: str | None = None


def list_sweeps(session: Session, filters: SweepFilters, limit: int,
                cursor: str | None) -> tuple[list[Sweep], dict[int, dict[str, int]], str | None]:
    """Newest first, keyset-paginated on the id; ``name`` matches a substring."""
    stmt = select(Sweep).order_by(Sweep.id.desc()).limit(limit + 1)
    after = decode_cursor(cursor, "before")
    if after is not None:
        stmt = stmt.where(Sweep.id < after["before"])
    for column, value in ((Sweep.status, filters.status), (Sweep.task, filters.task),
                          (Sweep.source, filters.source)):
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.name:
        escaped = filters.name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Sweep.name.like(f"%{escaped}%", escape="\\"))
    sweeps = list(session.scalars(stmt))
    next_cursor = None
    if len(sweeps) > limit:
        sweeps = sweeps[:limit]
        next_cursor = encode_cursor({"before": sweeps[-1].id})
    return sweeps, run_counts(session, [s.id for s in sweeps]), next_cursor


def cancel_sweep(session: Session, fx: Effects, sweep_id: int) -> Sweep:
    """Cancel every queued or running run; running workers see it on their next heartbeat."""
    sweep = get_sweep(session, sweep_id)
    if sweep.status not in ("queued", "running"):
        raise IllegalTransitionError("sweep", sweep_id, sweep.status, "cancel")
    result = session.execute(update(Run).where(Run.sweep_id == sweep_id,
                                               Run.status.in_(("queued", "running")))
                             .values(status="cancelled", cancel_requested=True,
                                     ended_at=utcnow()))
    runs_ended(session, sweep_id, result.rowcount if isinstance(result, CursorResult) else 0)
    session.commit()
    fx.events.publish(sweep_id, {"type": "sweep", "status": sweep.status})
    return sweep


def retry_failed(session: Session, fx: Effects, sweep_id: int) -> list[int]:
    """Requeue the failed runs with fresh attempts; enqueue those whose baseline is done."""
    sweep = get_sweep(session, sweep_id)
    failed = list(session.scalars(select(Run).where(
        Run.sweep_id == sweep_id, Run.status == "failed").order_by(Run.id)))
    if not failed:
        return []
    requeued = {run.id for run in failed}
    done = set(session.scalars(select(Run.id).where(Run.sweep_id == sweep_id,
                                                    Run.status == "succeeded")))
    now = utcnow()
    for run in failed:
        run.status, run.attempt, run.error, run.ended_at = "queued", 0, None, None
        # Stamped when sent now; the others are stamped when their baseline succeeds.
        run.enqueued_at = now if run.depends_on_id is None or run.depends_on_id in done else None
    sweep.status, sweep.ended_at, sweep.gates = "running", None, None
    stage_retry(session, sweep, len(failed))
    runs_restarted(session, sweep_id, len(failed))
    ready = [(r.id, r.queue) for r in failed if r.enqueued_at is not None]
    session.commit()
    fx.events.publish(sweep_id, {"type": "sweep", "status": sweep.status})
    send(session, fx.enqueuer, ready)
    return sorted(requeued)


def delete_sweep(session: Session, fx: Effects, sweep_id: int) -> None:
    """Delete a sweep with its runs, metric points and artifact files."""
    get_sweep(session, sweep_id)
    run_ids = list(session.scalars(select(Run.id).where(Run.sweep_id == sweep_id)))
    for table in (MetricPoint, MetricRollup):  # no foreign keys: see api.models.MetricPoint
        session.execute(delete(table).where(table.run_id.in_(
            select(Run.id).where(Run.sweep_id == sweep_id))))
    # Runs reference each other (compress -> baseline): delete dependents first.
    session.execute(delete(Run).where(Run.sweep_id == sweep_id,
                                      Run.depends_on_id.is_not(None)))
    session.execute(delete(Run).where(Run.sweep_id == sweep_id))
    session.execute(delete(Sweep).where(Sweep.id == sweep_id))
    session.commit()
    for run_id in run_ids:
        shutil.rmtree(Path(fx.settings.artifact_dir) / str(run_id), ignore_errors=True)
    fx.events.publish(sweep_id, {"type": "sweep", "status": "deleted"})
