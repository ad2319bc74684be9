"""Sweep request/response models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from api.schemas.common import example

SweepStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
Source = Literal["api", "cli", "webhook"]


SWEEP_EXAMPLE: JsonDict = {
    "id": 1, "name": "quick", "task": "digits-mlp", "status": "running", "source": "api",
    "repo": None, "ref": None, "sha": None, "created_at": "2026-11-23T12:00:00Z",
    "updated_at": "2026-11-23T12:04:30Z", "ended_at": None, "run_count": 6,
    "counts": {"queued": 3, "running": 1, "succeeded": 2}}
RUN_PLAN_EXAMPLE: JsonDict = {
    "name": "quick/agp/final_sparsity=0.9/seed=0", "kind": "compress", "seed": 0,
    "queue": "cpu", "config_hash": "3b1f0c9e", "baseline_key": "digits-mlp/seed=0",
    "params": {"final_sparsity": 0.9}}
PARETO_POINT_EXAMPLE: JsonDict = {
    "variant": "agp/final_sparsity=0.9", "kind": "compress", "run_ids": [42, 45], "seeds": 2,
    "x_mean": 0.9, "x_std": 0.0, "y_mean": 0.966, "y_std": 0.002, "on_front": True}


class RunPlan(BaseModel):
    """One run a spec expands to."""

    model_config = example(RUN_PLAN_EXAMPLE)


    name: str
    kind: Literal["baseline", "compress"]
    seed: int
    queue: str
    config_hash: str
    baseline_key: str
    params: dict[str, Any]


class SweepPlan(BaseModel):
    """What a spec expands to (``dry_run=true``); nothing is stored."""

    model_config = example({"name": "quick", "task": "digits-mlp", "run_count": 6,
                            "baseline_count": 2, "runs": [RUN_PLAN_EXAMPLE]})

    name: str
    task: str
    run_count: int
    baseline_count: int
    runs: list[RunPlan]


class SweepCreated(BaseModel):
    model_config = example({"id": 1, "name": "quick", "status": "queued",
                            "baseline_run_ids": [1, 2],
                            "run_ids": [1, 2, 3, 4, 5, 6]})

    id: int = Field(examples=[1])
    name: str = Field(examples=["quick"])
    status: SweepStatus
    baseline_run_ids: list[int]
    run_ids: list[int] = Field(description="every run of the sweep, baselines first")


class SweepPublic(BaseModel):
    model_config = example(SWEEP_EXAMPLE)

    id: int
    name: str
    task: str
    status: SweepStatus
    source: Source
    repo: str | None
    ref: str | None
    sha: str | None
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    run_count: int
    counts: dict[str, int] = Field(description="runs by status",
                                   examples=[{"queued": 3, "running": 1, "succeeded": 8}])
    spec: dict[str, Any] | None = Field(default=None,
                                        description="the submitted spec (single sweep only)")


class SweepsPublic(BaseModel):
    model_config = example({"items": [SWEEP_EXAMPLE], "next_cursor": None})

    items: list[SweepPublic]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


class RetryPublic(BaseModel):
    model_config = example({"sweep_id": 1, "requeued_run_ids": [4]})

    sweep_id: int
    requeued_run_ids: list[int]


class ParetoPoint(BaseModel):
    """One variant (grid point) of a sweep, aggregated over its seeds."""

    model_config = example(PARETO_POINT_EXAMPLE)


    variant: str
    kind: str
    run_ids: list[int]
    seeds: int
    x_mean: float
    x_std: float
    y_mean: float
    y_std: float
    on_front: bool


class ParetoPublic(BaseModel):
    model_config = example({"sweep_id": 1, "x": "summary.sparsity",
                            "y": "summary.accuracy",
                            "points": [PARETO_POINT_EXAMPLE],
                            "front": ["agp/final_sparsity=0.9"]})

    sweep_id: int
    x: str
    y: str
    points: list[ParetoPoint]
    front: list[str] = Field(description="variants on the front, in x order")
