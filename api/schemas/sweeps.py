"""Sweep request/response models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from api.schemas.common import example

SweepStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
Source = Literal["api", "cli", "ci", "webhook"]


GATE_RESULT_EXAMPLE: JsonDict = {
    "gate": "max_accuracy_drop", "recipe": None, "variant": "agp[final_sparsity=0.9]",
    "value": 0.003, "threshold": 0.01, "passed": True}
GATE_BEST_EXAMPLE: JsonDict = {
    "variant": "agp[final_sparsity=0.9]", "recipe": "agp", "run_ids": [7, 8, 9], "seeds": 3,
    "metric": "accuracy", "metric_goal": "max", "metric_value": 0.968, "metric_drop": 0.003,
    "accuracy": 0.968, "accuracy_drop": 0.003, "speedup": 2.1, "speedup_runtime": "onnxruntime",
    "speedup_batch": 64, "stored_bytes": 48213}
GATES_EXAMPLE: JsonDict = {
    "passed": True, "apply_to": "best", "results": [GATE_RESULT_EXAMPLE],
    "best": GATE_BEST_EXAMPLE,
    "description": "passed: best agp[final_sparsity=0.9] −0.3 pt, 2.1× faster"}
SWEEP_EXAMPLE: JsonDict = {
    "id": 1, "name": "quick", "task": "digits-mlp", "status": "running", "source": "api",
    "repo": None, "ref": None, "sha": None, "created_at": "2026-11-23T12:00:00Z",
    "updated_at": "2026-11-23T12:04:30Z", "ended_at": None, "run_count": 6,
    "counts": {"queued": 3, "running": 1, "succeeded": 2}, "gates": None}
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
    """What a spec expands to (``dry_run=true``); nothing is stored. ``runs`` is one page
    (``limit``, at most 1,000); ``run_count`` counts them all."""

    model_config = example({"name": "quick", "task": "digits-mlp", "run_count": 6,
                            "baseline_count": 2, "runs": [RUN_PLAN_EXAMPLE],
                            "next_cursor": None})

    name: str
    task: str
    run_count: int
    baseline_count: int
    runs: list[RunPlan]
    next_cursor: str | None = Field(description="post the same spec with ?dry_run=true&"
                                                "cursor= for the next page of runs")


class SweepCreated(BaseModel):
    model_config = example({"id": 1, "name": "quick", "status": "queued",
                            "baseline_run_ids": [1, 2],
                            "run_ids": [1, 2, 3, 4, 5, 6]})

    id: int = Field(examples=[1])
    name: str = Field(examples=["quick"])
    status: SweepStatus
    baseline_run_ids: list[int]
    run_ids: list[int] = Field(description="every run of the sweep, baselines first")


GateName = Literal["max_metric_drop", "max_accuracy_drop", "min_speedup", "max_stored_size"]


class GateResult(BaseModel):
    """One gate checked against one variant: the sweep's best, or a recipe's best."""

    model_config = example(GATE_RESULT_EXAMPLE)

    gate: GateName
    recipe: str | None = Field(description="the recipe judged (apply_to=each_recipe), else null")
    variant: str | None = Field(description="the variant judged; null when none succeeded")
    value: float | None = Field(description="the variant's figure, mean over seeds; null if "
                                            "missing (the gate then fails)")
    threshold: float
    passed: bool


class GateBest(BaseModel):
    """A variant's figures, means over its seeds (see api.services.gates)."""

    model_config = example(GATE_BEST_EXAMPLE)

    variant: str
    recipe: str
    run_ids: list[int]
    seeds: int
    metric: str | None = Field(default=None, description="the primary metric's name")
    metric_goal: Literal["max", "min"] | None = None
    metric_value: float | None = None
    metric_drop: float | None = Field(default=None, description=(
        "how much worse than the baseline, in the metric's units; positive is worse"))
    accuracy: float | None
    accuracy_drop: float | None = Field(description="fraction: baseline minus accuracy")
    speedup: float | None = Field(description="at the largest batch size, best runtime")
    speedup_runtime: str | None
    speedup_batch: int | None
    stored_bytes: int | None


class GatesReport(BaseModel):
    """The gates of a sweep, evaluated when it ended."""

    model_config = example(GATES_EXAMPLE)

    passed: bool | None = Field(description="null when the spec sets no gate")
    apply_to: Literal["best", "each_recipe"]
    results: list[GateResult]
    best: GateBest | None = Field(description="the best variant (passing, if any passes)")
    description: str = Field(max_length=140, description="one line for a CI commit status")


class SweepMetric(BaseModel):
    name: str
    goal: Literal["max", "min"]


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
    metric: SweepMetric | None = Field(default=None, description=(
        "the primary metric the spec declares (its metric, or an inline task's first); "
        "null when the task's code decides: read it from the runs' summaries"))
    counts: dict[str, int] = Field(description="runs by status",
                                   examples=[{"queued": 3, "running": 1, "succeeded": 8}])
    spec: dict[str, Any] | None = Field(default=None,
                                        description="the submitted spec (single sweep only)")
    gates: GatesReport | None = Field(default=None,
                                      description="set when the sweep ends; null before")


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
