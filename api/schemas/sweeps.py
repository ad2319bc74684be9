"""Sweep request/response models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

SweepStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
Source = Literal["api", "cli", "webhook"]


class RunPlan(BaseModel):
    """One run a spec expands to."""

    name: str
    kind: Literal["baseline", "compress"]
    seed: int
    queue: str
    config_hash: str
    baseline_key: str
    params: dict[str, Any]


class SweepPlan(BaseModel):
    """What a spec expands to (``dry_run=true``); nothing is stored."""

    name: str
    task: str
    run_count: int
    baseline_count: int
    runs: list[RunPlan]


class SweepCreated(BaseModel):
    id: int = Field(examples=[1])
    name: str = Field(examples=["quick"])
    status: SweepStatus
    baseline_run_ids: list[int]
    run_ids: list[int] = Field(description="every run of the sweep, baselines first")


class SweepPublic(BaseModel):
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
    items: list[SweepPublic]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


class RetryPublic(BaseModel):
    sweep_id: int
    requeued_run_ids: list[int]


class ParetoPoint(BaseModel):
    """One variant (grid point) of a sweep, aggregated over its seeds."""

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
    sweep_id: int
    x: str
    y: str
    points: list[ParetoPoint]
    front: list[str] = Field(description="variants on the front, in x order")
