"""/api/v1/runs: list, get, and the worker/user transitions of the state machine."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import EffectsDep, Reader, SessionDep, WorkerAuth, Writer
from api.models import Run
from api.schemas.common import CursorQuery, IdPath, IdQuery
from api.schemas.runs import (
    HeartbeatPublic,
    RunClaim,
    RunComplete,
    RunFail,
    RunHeartbeat,
    RunPublic,
    RunsPublic,
    RunStatus,
)
from api.services import runs as service
from api.services.run_queries import RunFilters, list_runs
from api.services.summary_sql import SUMMARY_PATH

router = APIRouter(prefix="/api/v1/runs", tags=["runs"])
# What list_runs sorts by: its columns, or a number in the summary; any number of signs.
SORT_COLUMNS = ("id", "name", "created_at", "ended_at", "status", "seed", "attempt", "kind")
SORT_PATTERN = f"^[-+]*(?:{'|'.join(SORT_COLUMNS)}|{SUMMARY_PATH.pattern})$"
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "illegal transition, or the lease is held by another worker"}}


def _public(run: Run) -> RunPublic:
    return RunPublic.model_validate(run, from_attributes=True)


@router.get("", summary="List runs")
def list_(
    _: Reader, session: SessionDep,
    sweep_id: IdQuery | None = None, status: RunStatus | None = None,
    kind: Annotated[str | None, Query(pattern="^(baseline|compress)$")] = None,
    variant: Annotated[str | None, Query(max_length=256)] = None,
    sort: Annotated[str, Query(max_length=200, pattern=SORT_PATTERN,
                               examples=["-summary.accuracy"],
                               description="a column or summary.<path>; '-' for descending")
                    ] = "id",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: CursorQuery = None,
) -> RunsPublic:
    runs, next_cursor = list_runs(session, RunFilters(sweep_id, status, kind, variant),
                                  sort, limit, cursor)
    return RunsPublic(items=[_public(r) for r in runs], next_cursor=next_cursor)


@router.get("/{run_id}", summary="Get a run")
def get(run_id: IdPath, _: Reader, session: SessionDep) -> RunPublic:
    return _public(service.get_run(session, run_id))


@router.post("/{run_id}/claim", responses=CONFLICT,
             summary="Claim a queued run (worker): queued -> running with a lease")
def claim(run_id: IdPath, body: RunClaim, caller: WorkerAuth, session: SessionDep,
          fx: EffectsDep) -> RunPublic:
    return _public(service.claim(session, fx, run_id, body.worker_id, caller.token_id))


@router.post("/{run_id}/heartbeat", responses=CONFLICT,
             summary="Renew the lease (worker); the reply says whether to stop")
def heartbeat(run_id: IdPath, body: RunHeartbeat, caller: WorkerAuth, session: SessionDep,
              fx: EffectsDep) -> HeartbeatPublic:
    cancel, expires = service.heartbeat(session, fx, run_id, body.worker_id, caller.token_id)
    return HeartbeatPublic(cancel=cancel, lease_expires_at=expires)


@router.post("/{run_id}/complete", responses=CONFLICT,
             summary="Post the summary (worker): running -> succeeded")
def complete(run_id: IdPath, body: RunComplete, caller: WorkerAuth, session: SessionDep,
             fx: EffectsDep) -> RunPublic:
    summary = body.summary.model_dump(mode="json", exclude_none=True)
    return _public(service.complete(session, fx, run_id, body.worker_id, summary,
                                    caller.token_id))


@router.post("/{run_id}/fail", responses=CONFLICT,
             summary="Report an error (worker): running -> failed, or queued to retry")
def fail(run_id: IdPath, body: RunFail, caller: WorkerAuth, session: SessionDep,
         fx: EffectsDep) -> RunPublic:
    error = body.error.model_dump(mode="json", exclude_none=True)
    summary = None if body.summary is None else body.summary.model_dump(mode="json",
                                                                        exclude_none=True)
    return _public(service.fail(session, fx, run_id, body.worker_id, error,
                                body.retryable and summary is None, summary=summary,
                                token_id=caller.token_id))


@router.post("/{run_id}/cancel", responses=CONFLICT, summary="Cancel a queued or running run")
def cancel(run_id: IdPath, _: Writer, session: SessionDep, fx: EffectsDep) -> RunPublic:
    return _public(service.cancel(session, fx, run_id))
