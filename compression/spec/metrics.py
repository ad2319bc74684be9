"""Metric names and their direction, without torch: the API reads goals from here.

The engine computes the built-in metrics (``compression.tasks.metrics``); a plug-in task may
compute others, and declares their direction itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from compression.spec.types import SpecModel

Goal = Literal["max", "min"]
METRIC_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
METRIC_NAME = Annotated[str, Field(pattern=METRIC_PATTERN, examples=["macro_f1"])]
# Python's ``$`` also matches before a trailing newline: fullmatch, and \Z, end at the end.
_TOP_K = re.compile(r"top([1-9][0-9]?)_accuracy")
# Metrics that are fractions in [0, 1]: shown as percent, their drops in points (the
# dashboard's lib/metric.ts uses the same rule).
_FRACTION = re.compile(r"(^|_)(accuracy|f1|precision|recall|auc)\Z")

# Built-in metrics: name -> goal. ``top<k>_accuracy`` for any k from 1 to 99 as well.
BUILTIN_GOALS: dict[str, Goal] = {
    "accuracy": "max",
    "macro_f1": "max",
    "perplexity": "min",
    "loss": "min",
}


def top_k(name: str) -> int | None:
    """k of a ``top<k>_accuracy`` name, else None."""
    match = _TOP_K.fullmatch(name)
    return int(match.group(1)) if match else None


def is_fraction(name: str) -> bool:
    """Whether a metric is a fraction in [0, 1] (accuracy, macro_f1, a recall ...)."""
    return bool(_FRACTION.search(name))


def builtin_goal(name: str) -> Goal | None:
    """The direction of a built-in metric, or None for a name the engine does not compute."""
    if name in BUILTIN_GOALS:
        return BUILTIN_GOALS[name]
    return "max" if top_k(name) is not None else None


class MetricSpec(SpecModel):
    """The primary metric a sweep is judged by: gates, the Pareto front, the best variant.

    name: one of the task's metrics. goal: "max" when higher is better; may be left out for
    built-in metrics (accuracy, topK_accuracy, macro_f1: max; perplexity, loss: min).
    """

    name: METRIC_NAME
    goal: Goal | None = None

    @model_validator(mode="after")
    def _known_goal(self) -> MetricSpec:
        if self.goal is None and builtin_goal(self.name) is None:
            raise ValueError(f"{self.name!r} is not a built-in metric: give its goal (max/min)")
        return self

    @property
    def resolved_goal(self) -> Goal:
        goal = self.goal or builtin_goal(self.name)
        if goal is None:  # the validator refused this
            raise ValueError(f"metric {self.name!r} has no goal")
        return goal


def declared_metric(spec: Mapping[str, Any]) -> tuple[str, Goal] | None:
    """The primary metric a submitted spec (as stored, a mapping) declares: its ``metric``,
    or an inline task's first metric. None when the task's code decides (a registered task or
    a Python reference), which only a worker knows."""
    metric = spec.get("metric")
    if isinstance(metric, Mapping) and isinstance(metric.get("name"), str):
        goal = metric.get("goal")
        goal = goal if goal in ("max", "min") else builtin_goal(metric["name"])
        return (metric["name"], goal) if goal is not None else None
    task = spec.get("task")
    if isinstance(task, Mapping):
        names = task.get("metrics") or ["accuracy"]
        first = names[0] if isinstance(names, list) and names else None
        goal = builtin_goal(first) if isinstance(first, str) else None
        return (first, goal) if isinstance(first, str) and goal is not None else None
    return None


def metric_drop(goal: Goal, baseline: float, value: float) -> float:
    """How much worse ``value`` is than ``baseline``: positive is worse, whatever the goal."""
    return baseline - value if goal == "max" else value - baseline
