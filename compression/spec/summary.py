"""The run summary: the contract between the engine, the API, the SDK and the dashboard.

The engine builds a ``RunSummary``; a worker posts it; the API validates what it receives
with the same model and stores it as JSON; the SDK reads it back with it; the dashboard's
TypeScript types are generated from the API's OpenAPI document, which this model feeds.

Every figure is measured on the worker that ran the job. The primary metric (``metric``) is
the one the sweep is judged by; ``accuracy``, ``baseline_accuracy`` and ``accuracy_drop``
are kept as well whenever accuracy is among the task's metrics.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from compression.spec.metrics import Goal, metric_drop
from compression.spec.types import NoBool
from compression.spec.versions import EngineVersions

# A figure: JSON's true/false is never one (pydantic would otherwise read true as 1.0).
Number = Annotated[float, NoBool]
Count = Annotated[int, NoBool]
Latency = dict[str, dict[str, dict[str, Number]]]  # runtime -> batch size -> {"p50", "p90"}


def _non_finite(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, float) and not math.isfinite(value):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_finite(item, f"{path}/{index}")


class PrimaryMetric(BaseModel):
    """The primary metric of a run: its value, the dense baseline's, and the drop.

    drop: how much worse than the baseline, in the metric's units; positive is worse whatever
    the goal (baseline − value for "max", value − baseline for "min").
    """

    model_config = ConfigDict(allow_inf_nan=False, frozen=True)

    name: str = Field(examples=["accuracy"])
    goal: Goal
    value: Number
    baseline: Number
    drop: Number

    @classmethod
    def of(cls, name: str, goal: Goal, value: float, baseline: float) -> PrimaryMetric:
        return cls(name=name, goal=goal, value=value, baseline=baseline,
                   drop=metric_drop(goal, baseline, value))


class SpeedupInterval(BaseModel):
    """A speedup's 95% interval, bootstrapped from the interleaved timings that measured it.

    noise: the interval contains 1.0, so the timings cannot tell the speedup from none.
    """

    model_config = ConfigDict(allow_inf_nan=False, frozen=True)

    lo: Number
    hi: Number
    noise: StrictBool

    @model_validator(mode="after")
    def _ordered(self) -> SpeedupInterval:
        if self.lo > self.hi:
            raise ValueError(f"interval lo {self.lo} is above hi {self.hi}")
        return self


class RunSummary(BaseModel):
    """The final figures of a run; further blocks (``pruning``, ``quantization``,
    ``sensitivity``) are kept as they come.

    NaN and infinities are refused everywhere in it, extra keys included: JSON has no such
    numbers, PostgreSQL's jsonb rejects them and SQLite's JSON functions fail on them.
    """

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    metric: PrimaryMetric | None = None
    metrics: dict[str, Number] | None = Field(
        default=None, description="every metric of the task, on the test split",
        examples=[{"accuracy": 0.971, "macro_f1": 0.969}])
    baseline_metrics: dict[str, Number] | None = None
    metric_goals: dict[str, Goal] | None = Field(
        default=None, description="each metric's direction: max when higher is better",
        examples=[{"accuracy": "max", "perplexity": "min"}])
    accuracy: Number | None = Field(default=None, examples=[0.971])
    baseline_accuracy: Number | None = None
    accuracy_drop: Number | None = None
    sparsity: Number | None = None
    layer_sparsity: dict[str, Number] | None = None
    params_total: Count | None = None
    params_nonzero: Count | None = None
    size_bytes: dict[str, Count] | None = Field(
        default=None, examples=[{"dense_fp32": 1064000, "stored": 212000}])
    macs: dict[str, Count] | None = None
    latency_ms: Latency | None = Field(
        default=None, examples=[{"torch": {"64": {"p50": 0.41, "p90": 0.47}}}])
    speedup: dict[str, dict[str, Number]] | None = Field(
        default=None, description="runtime -> batch size -> dense p50 / this model's p50",
        examples=[{"torch": {"64": 1.83}}])
    speedup_interval: dict[str, dict[str, SpeedupInterval]] | None = Field(
        default=None, description="each speedup's 95% interval, from its own timings; "
        "absent for a baseline (its speedup is 1.0 by definition)",
        examples=[{"torch": {"64": {"lo": 1.71, "hi": 1.95, "noise": False}}}])
    not_run: dict[str, str] | None = Field(
        default=None, description="runtimes the spec asked for that this run has no latency "
        "on, and why", examples=[{"torch": "the int8 model runs on ONNX Runtime only"}])
    hardware: dict[str, Any] | None = None
    versions: EngineVersions | None = Field(
        default=None, description="the versions of squeezelab and the libraries that trained "
        "and measured this run: results from different versions may differ")
    chance: Number | None = Field(
        default=None, description="the primary metric of the best input-free predictor (the "
        "test split's class prior, or a random guess): what a model that learned nothing gets")
    warnings: list[str] | None = Field(
        default=None, description="what makes a figure of this run doubtful, in words",
        examples=[["layer 'classifier' ended 99.9% sparse"]])
    failure: str | None = Field(
        default=None, description="why the run failed although it finished (the result guard: "
        "a metric at chance level, or a drop beyond guard.fail_if_drop); the figures are kept "
        "for inspection")

    @model_validator(mode="after")
    def _finite_extras(self) -> RunSummary:
        free = {**(self.model_extra or {}), "hardware": self.hardware}
        bad = [path for key, value in free.items() for path in _non_finite(value, key)]
        if bad:
            raise ValueError(f"not a finite number at {', '.join(bad[:5])}")
        return self

    def to_json(self) -> dict[str, Any]:
        """The summary as stored and posted: JSON types, absent fields left out."""
        return self.model_dump(mode="json", exclude_none=True)
