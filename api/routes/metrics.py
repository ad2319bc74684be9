"""Metrics: batch ingestion for workers, downsampled series for dashboards."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError

from api.deps import EffectsDep, Reader, SessionDep, WorkerAuth
from api.errors import InvalidInputError, UnsupportedMediaTypeError, Violation
from api.problems import pointer
from api.schemas.common import MAX_ID, IdPath
from api.schemas.metrics import (
    METRIC_BATCH,
    MetricBatchCreate,
    MetricBatchPublic,
    MetricKeysPublic,
    SeriesPublic,
    SeriesSetPublic,
)
from api.services import metrics as service
from api.services.series import series as read_series

router = APIRouter(prefix="/api/v1", tags=["metrics"])
BATCH_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/MetricBatchCreate"}}}}}


async def metric_batch(request: Request) -> MetricBatchCreate:
    """Validate the raw body in one pass (pydantic's JSON parser, about twice as fast as
    decoding to Python objects first: this is the hot path of ingestion)."""
    media = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media != "application/json":
        raise UnsupportedMediaTypeError(f"send metric batches as JSON, not {media!r}")
    try:
        return METRIC_BATCH.validate_json(await request.body())
    except ValidationError as exc:
        raise InvalidInputError("the metric batch does not match the schema", [
            Violation(pointer(err["loc"]), err["msg"]) for err in exc.errors()]) from None


BatchDep = Annotated[MetricBatchCreate, Depends(metric_batch)]
KeyQuery = Annotated[str, Query(min_length=1, max_length=128, examples=["val/accuracy"])]
BucketsQuery = Annotated[int, Query(ge=1, le=10_000, description="at most this many buckets")]
StepQuery = Annotated[int | None, Query(ge=0, le=2**62, description=(
    "a window of steps (a zoomed chart): read at the resolution the window's span allows; "
    "step_min greater than step_max is a 422"))]


def _window(step_min: int | None, step_max: int | None) -> None:
    if step_min is not None and step_max is not None and step_min > step_max:
        raise InvalidInputError("empty step window", [
            Violation("query:/step_max", f"must be at least step_min ({step_min})")])


@router.post("/runs/{run_id}/metrics", openapi_extra=BATCH_BODY,
             summary="Post a batch of up to 10,000 points (idempotent on run, key, step)")
def post_batch(run_id: IdPath, caller: WorkerAuth, body: BatchDep, session: SessionDep,
               fx: EffectsDep) -> MetricBatchPublic:
    # From the token holding the run's lease while it runs (else 403 / 409); a replay of
    # stored points is answered with nothing inserted even after the run ended.
    inserted = service.ingest(session, fx, run_id, body["points"], caller.token_id)
    return MetricBatchPublic(received=len(body["points"]), inserted=inserted)


@router.get("/runs/{run_id}/metrics", summary="The metric keys a run has points for")
def keys(run_id: IdPath, _: Reader, session: SessionDep) -> MetricKeysPublic:
    return MetricKeysPublic(run_id=run_id, keys=service.metric_keys(session, run_id))


@router.get("/runs/{run_id}/series", summary="One series, downsampled to min/max/last buckets")
def series(run_id: IdPath, key: KeyQuery, _: Reader, session: SessionDep,
           buckets: BucketsQuery = 1000, step_min: StepQuery = None,
           step_max: StepQuery = None) -> SeriesPublic:
    _window(step_min, step_max)
    return read_series(session, run_id, key, buckets, step_min, step_max)


@router.get("/series", summary="The same series of several runs, for comparison")
def series_set(
    run_id: Annotated[list[Annotated[int, Query(ge=1, le=MAX_ID)]],
                      Query(min_length=1, max_length=50)],
    key: KeyQuery,
    _: Reader, session: SessionDep, buckets: BucketsQuery = 1000,
    step_min: StepQuery = None, step_max: StepQuery = None,
) -> SeriesSetPublic:
    _window(step_min, step_max)
    return SeriesSetPublic(series=[read_series(session, rid, key, buckets, step_min, step_max)
                                   for rid in dict.fromkeys(run_id)])
