"""/api/v1/sweeps: submit (JSON or YAML), list, get, cancel, retry-failed, delete, pareto."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from api.deps import EffectsDep, Reader, SessionDep, SettingsDep, Writer
from api.models import Sweep
from api.schemas.common import CursorQuery, IdPath
from api.schemas.sweeps import (
    ParetoPublic,
    RetryPublic,
    RunPlan,
    SweepCreated,
    SweepMetric,
    SweepPlan,
    SweepPublic,
    SweepsPublic,
    SweepStatus,
)
from api.schemas.triggers import REPOSITORY
from api.services import sweeps as service
from api.services.pareto import pareto_front
from api.services.summary_sql import SUMMARY_PATH
from api.services.sweeps_state import run_counts
from api.spec_body import SubmittedSpec, spec_request_body, submitted_spec
from compression.spec.metrics import declared_metric

router = APIRouter(prefix="/api/v1/sweeps", tags=["sweeps"])
SpecDep = Annotated[SubmittedSpec, Depends(submitted_spec)]
SummaryPathQuery = Annotated[str, Query(
    max_length=200, pattern=f"^{SUMMARY_PATH.pattern}$",
    description="summary.<field>[.<field>...], up to 6 fields of A-Z a-z 0-9 _ -")]


def _public(sweep: Sweep, counts: dict[str, int], with_spec: bool = False) -> SweepPublic:
    declared = declared_metric(sweep.spec) if isinstance(sweep.spec, dict) else None
    return SweepPublic(
        metric=None if declared is None else SweepMetric(name=declared[0], goal=declared[1]),
        id=sweep.id, name=sweep.name, task=sweep.task, status=sweep.status,
        source=sweep.source, repo=sweep.repo, ref=sweep.ref,
        sha=sweep.sha, created_at=sweep.created_at, updated_at=sweep.updated_at,
        ended_at=sweep.ended_at, run_count=sum(counts.values()), counts=counts,
        spec=sweep.spec if with_spec else None, gates=sweep.gates)


@router.post("", status_code=201, openapi_extra=spec_request_body(),
             responses={200: {"model": SweepPlan,
                              "description": "the expansion (dry run), one page of runs"},
                        422: {"description": "invalid spec: one JSON pointer per bad field; "
                              "or more runs than the server allows (sweep-too-large)"}},
             summary="Submit a sweep spec (JSON or YAML)")
def create(
    _: Writer, submitted: SpecDep, session: SessionDep, fx: EffectsDep,
    settings: SettingsDep, response: Response,
    dry_run: bool = False, source: Literal["api", "cli", "ci"] = "api",
    repo: Annotated[str | None, Query(max_length=256, pattern=REPOSITORY,
                                      description="owner/name (CI)")] = None,
    ref: Annotated[str | None, Query(min_length=1, max_length=256)] = None,
    sha: Annotated[str | None, Query(pattern="^[0-9a-f]{7,64}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="dry run: runs per page")] = 1000,
    cursor: CursorQuery = None,
) -> SweepCreated | SweepPlan:
    if dry_run:
        plan = service.plan_sweep(session, submitted.spec, settings.max_runs, limit, cursor)
        response.status_code = 200
        return SweepPlan(
            name=submitted.spec.name, task=submitted.spec.task_name, run_count=plan.run_count,
            baseline_count=plan.baseline_count, next_cursor=plan.next_cursor,
            runs=[RunPlan(name=r.name, kind=r.kind, seed=r.seed, queue=r.queue,
                          config_hash=r.config_hash, baseline_key=r.baseline_key,
                          params=r.params) for r in plan.runs])
    stored = service.create_sweep(session, fx, submitted.spec, submitted.raw,
                                  service.Provenance(source, repo, ref, sha))
    return SweepCreated(id=stored.sweep.id, name=stored.sweep.name,
                        status=stored.sweep.status,
                        baseline_run_ids=stored.baseline_ids, run_ids=stored.run_ids)


@router.get("", summary="List sweeps, newest first")
def list_(
    _: Reader, session: SessionDep,
    status: SweepStatus | None = None,
    task: Annotated[str | None, Query(max_length=128)] = None,
    source: Literal["api", "cli", "ci", "webhook"] | None = None,
    name: Annotated[str | None, Query(max_length=128, description="substring")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: CursorQuery = None,
) -> SweepsPublic:
    filters = service.SweepFilters(status, task, source, name)
    sweeps, counts, next_cursor = service.list_sweeps(session, filters, limit, cursor)
    return SweepsPublic(items=[_public(s, counts[s.id]) for s in sweeps],
                        next_cursor=next_cursor)


@router.get("/{sweep_id}", summary="Get a sweep with its run counts by status")
def get(sweep_id: IdPath, _: Reader, session: SessionDep) -> SweepPublic:
    sweep = service.get_sweep(session, sweep_id)
    return _public(sweep, run_counts(session, [sweep_id])[sweep_id], with_spec=True)


@router.post("/{sweep_id}/cancel", summary="Cancel every queued or running run",
             responses={409: {"description": "the sweep has already ended"}})
def cancel(sweep_id: IdPath, _: Writer, session: SessionDep, fx: EffectsDep) -> SweepPublic:
    sweep = service.cancel_sweep(session, fx, sweep_id)
    return _public(sweep, run_counts(session, [sweep_id])[sweep_id])


@router.post("/{sweep_id}/retry-failed", summary="Requeue the failed runs")
def retry_failed(sweep_id: IdPath, _: Writer, session: SessionDep, fx: EffectsDep) -> RetryPublic:
    return RetryPublic(sweep_id=sweep_id,
                       requeued_run_ids=service.retry_failed(session, fx, sweep_id))


@router.delete("/{sweep_id}", status_code=204, summary="Delete a sweep, its runs and artifacts")
def delete(sweep_id: IdPath, _: Writer, session: SessionDep, fx: EffectsDep) -> Response:
    service.delete_sweep(session, fx, sweep_id)
    return Response(status_code=204)


@router.get("/{sweep_id}/pareto",
            summary="Metric-vs-cost Pareto front, seeds aggregated (y: the primary metric is "
                    "summary.metric.value)")
def pareto(
    sweep_id: IdPath, _: Reader, session: SessionDep,
    x: SummaryPathQuery = "summary.sparsity",
    y: SummaryPathQuery = "summary.accuracy",
    x_goal: Literal["min", "max"] = "max",
    y_goal: Literal["min", "max"] = "max",
) -> ParetoPublic:
    points = pareto_front(session, sweep_id, x, y, x_goal, y_goal)
    return ParetoPublic(sweep_id=sweep_id, x=x, y=y, points=points,
                        front=[p.variant for p in points if p.on_front])
