"""Gates: pass/fail rules over a finished sweep's compressed models, for CI.

What is judged, and how:

- The sweep's *succeeded compress runs*, grouped by variant (``run.variant``: the grid
  point without its seed); every figure of a variant is the mean over its seeds.
- ``metric_drop``: ``summary.metric.drop``, how much worse than the baseline the primary
  metric is, in its own units (positive is worse, whatever its goal). A summary without a
  ``metric`` (written before it existed) counts accuracy as its metric.
- ``accuracy_drop``: ``summary.accuracy_drop`` (fraction, baseline minus accuracy).
- ``speedup``: from ``summary.speedup`` = {runtime: {batch_size: x}}, taken at the largest
  batch size the variant's runs measured (the throughput setting a deployment cares
  about), as the mean over seeds for each runtime, then the best runtime (the one you
  would deploy with). A speedup whose `speedup_interval` says noise counts as 1.0.
- ``stored_bytes``: ``summary.size_bytes.stored``.
- A variant passes when every gate the spec sets passes; a figure that is missing fails
  its gate. ``max_*`` gates pass at or below the threshold, ``min_speedup`` at or above.
- *Best* variant: among the variants that pass every gate, the one with the lowest mean
  metric drop, ties broken by the higher speedup, then the smaller size, then the name.
  When none passes, the *closest*: the variant failing the fewest gates, then missing
  them by the least (the sum of each miss relative to its threshold), then as above.
- ``apply_to: best``: the sweep passes when its best variant passes, that is when at least
  one variant passes every gate. ``apply_to: each_recipe``: every recipe named in the spec
  is judged by its own best variant and must pass; a recipe with no succeeded run fails.
- No gate set: ``passed`` is null, and the best variant and description are still given.
  Gates set but no succeeded compress run (a failed or cancelled sweep): ``passed`` false.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from api.schemas.sweeps import GateBest, GateName, GateResult, GatesReport
from compression.spec.metrics import is_fraction
from compression.spec.models import GatesSpec

MAX_DESCRIPTION = 140  # GitHub's limit for a commit status description
# Means over seeds carry float noise: a drop of exactly the threshold must still pass.
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class RunOutcome:
    """One succeeded compress run, as the gates see it."""

    run_id: int
    variant: str
    summary: Mapping[str, Any]

    @property
    def recipe(self) -> str:
        # Recipe names cannot contain "[" (spec pattern); a variant is "name[params]".
        return self.variant.split("[", 1)[0]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def _noise(summary: Mapping[str, Any], runtime: Any, batch: Any) -> bool:
    """Whether the run's own repeats could not tell this speedup from 1.0."""
    intervals = summary.get("speedup_interval")
    entry = (intervals.get(runtime) or {}).get(batch) if isinstance(intervals, Mapping) else None
    return isinstance(entry, Mapping) and entry.get("noise") is True


def _speedup(runs: list[RunOutcome]) -> tuple[float | None, str | None, int | None]:
    """(mean speedup, runtime, batch size) at the largest batch size, best runtime. A speedup
    whose interval contains 1.0 counts as 1.0: noise passes no ``min_speedup``."""
    by_batch: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        table = run.summary.get("speedup")
        for runtime, batches in (table.items() if isinstance(table, Mapping) else ()):
            for batch, x in (batches.items() if isinstance(batches, Mapping) else ()):
                value = _number(x)
                if value is not None and _noise(run.summary, runtime, batch):
                    value = 1.0
                if value is not None and str(batch).isascii() and str(batch).isdigit():
                    by_batch[int(batch)][str(runtime)].append(value)
    if not by_batch:
        return None, None, None
    batch = max(by_batch)
    runtime, values = max(by_batch[batch].items(),
                          key=lambda item: (statistics.fmean(item[1]), item[0]))
    return statistics.fmean(values), runtime, batch


def _metric(summary: Mapping[str, Any]) -> tuple[str | None, str | None, float | None,
                                                 float | None]:
    """(name, goal, value, drop) of the primary metric; accuracy for older summaries."""
    metric = summary.get("metric")
    if isinstance(metric, Mapping) and isinstance(metric.get("name"), str):
        goal = metric.get("goal")
        return (metric["name"], goal if goal in ("max", "min") else None,
                _number(metric.get("value")), _number(metric.get("drop")))
    if _number(summary.get("accuracy")) is not None:
        return ("accuracy", "max", _number(summary.get("accuracy")),
                _number(summary.get("accuracy_drop")))
    return None, None, None, None


def _stored(summary: Mapping[str, Any]) -> float | None:
    sizes = summary.get("size_bytes")
    return _number(sizes.get("stored")) if isinstance(sizes, Mapping) else None


def variant_figures(runs: list[RunOutcome]) -> list[GateBest]:
    """One entry per variant, figures averaged over its seeds, in variant order."""
    groups: dict[str, list[RunOutcome]] = defaultdict(list)
    for run in runs:
        groups[run.variant].append(run)
    figures = []
    for variant, members in sorted(groups.items()):
        speedup, runtime, batch = _speedup(members)
        stored = _mean(_stored(m.summary) for m in members)
        metrics = [_metric(m.summary) for m in members]
        figures.append(GateBest(
            variant=variant, recipe=members[0].recipe,
            run_ids=sorted(m.run_id for m in members), seeds=len(members),
            metric=metrics[0][0], metric_goal=metrics[0][1],
            metric_value=_mean(m[2] for m in metrics), metric_drop=_mean(m[3] for m in metrics),
            accuracy=_mean(_number(m.summary.get("accuracy")) for m in members),
            accuracy_drop=_mean(_number(m.summary.get("accuracy_drop")) for m in members),
            speedup=speedup, speedup_runtime=runtime, speedup_batch=batch,
            stored_bytes=None if stored is None else round(stored)))
    return figures


def _checks(gates: GatesSpec) -> list[tuple[GateName, float, int]]:
    """(gate, threshold, direction): +1 means the value must not exceed the threshold."""
    checks: list[tuple[GateName, float, int]] = []
    if gates.max_metric_drop is not None:
        checks.append(("max_metric_drop", gates.max_metric_drop, 1))
    if gates.max_accuracy_drop is not None:
        checks.append(("max_accuracy_drop", gates.max_accuracy_drop, 1))
    if gates.min_speedup is not None:
        checks.append(("min_speedup", gates.min_speedup, -1))
    if gates.max_stored_size is not None:
        checks.append(("max_stored_size", float(gates.max_stored_size), 1))
    return checks


def _value(figures: GateBest, gate: GateName) -> float | None:
    if gate == "max_metric_drop":
        return figures.metric_drop
    if gate == "max_accuracy_drop":
        return figures.accuracy_drop
    if gate == "min_speedup":
        return figures.speedup
    return None if figures.stored_bytes is None else float(figures.stored_bytes)


def _judge(gates: GatesSpec, figures: GateBest | None, recipe: str | None) -> list[GateResult]:
    results = []
    for gate, threshold, direction in _checks(gates):
        value = None if figures is None else _value(figures, gate)
        passed = value is not None and direction * (value - threshold) <= _TOLERANCE
        results.append(GateResult(gate=gate, recipe=recipe, threshold=threshold, value=value,
                                  variant=None if figures is None else figures.variant,
                                  passed=passed))
    return results


def _shortfall(result: GateResult) -> float:
    """How far a failed gate missed, relative to its threshold (0 when it passed)."""
    if result.passed:
        return 0.0
    if result.value is None:
        return math.inf
    return abs(result.value - result.threshold) / result.threshold if result.threshold else 1.0


def pick_best(gates: GatesSpec, figures: list[GateBest]) -> GateBest | None:
    """The variant failing the fewest gates and missing them by the least, then the
    lowest drop, higher speedup, smaller size (see the module docstring)."""
    def rank(f: GateBest) -> tuple[int, float, float, float, float, str]:
        results = _judge(gates, f, None)
        return (sum(not r.passed for r in results), sum(_shortfall(r) for r in results),
                math.inf if f.metric_drop is None else f.metric_drop,
                -(f.speedup or 0.0), math.inf if f.stored_bytes is None else f.stored_bytes,
                f.variant)
    return min(figures, key=rank, default=None)


def evaluate_gates(gates: GatesSpec, runs: list[RunOutcome],
                   recipes: list[str] | None = None) -> GatesReport:
    """Judge a finished sweep. recipes: the spec's recipe names (for ``each_recipe``)."""
    figures = variant_figures(runs)
    best = pick_best(gates, figures)
    results: list[GateResult] = []
    if gates.apply_to == "best":
        results = _judge(gates, best, None)
    else:
        names = list(dict.fromkeys([*(recipes or []), *(f.recipe for f in figures)]))
        for name in names:
            mine = pick_best(gates, [f for f in figures if f.recipe == name])
            results += _judge(gates, mine, name)
    passed = None if not _checks(gates) else bool(results) and all(r.passed for r in results)
    best_passes = all(r.passed for r in _judge(gates, best, None))
    return GatesReport(passed=passed, apply_to=gates.apply_to, results=results, best=best,
                       description=describe(passed, results, best, best_passes))


def _change(best: GateBest) -> str:
    """The primary metric's change from the baseline: '−0.3 pt' for accuracy, 'macro_f1
    −1.2 pt' for another fraction, 'perplexity +0.52' for the rest."""
    name, drop = best.metric or "accuracy", best.metric_drop
    if drop is None:
        return f"{name} n/a"
    change = -drop if best.metric_goal != "min" else drop
    shown = f"{100 * change:+.1f} pt" if is_fraction(name) else f"{change:+.3g}"
    prefix = "" if name == "accuracy" else f"{name} "
    return (prefix + shown).replace("-", "−")


def _speed(x: float | None) -> str:
    if x is None:
        return "speed n/a"
    return f"{x:.1f}× faster" if x >= 1 else f"{1 / x:.1f}× slower"


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{value:.3g} {unit}"
        value /= 1000
    return f"{value:.3g} GB"


def describe(passed: bool | None, results: list[GateResult], best: GateBest | None,
             best_passes: bool = True) -> str:
    """One line of at most 140 characters, e.g. 'passed: best agp[...] −0.3 pt, 2.1× faster'.

    best_passes: whether ``best`` passes every gate (else it is called the closest).
    """
    verdict = {True: "passed", False: "failed", None: "no gates"}[passed]
    failing = sorted({r.gate for r in results if not r.passed})
    if failing:
        verdict += f" ({', '.join(failing)})"
    recipes = sorted({r.recipe for r in results if not r.passed and r.recipe is not None})
    if recipes:
        verdict += f" in {recipes[0]}" if len(recipes) == 1 else f" in {len(recipes)} recipes"
    if best is None:
        return f"{verdict}: no compressed run succeeded"[:MAX_DESCRIPTION]
    figures = f" {_change(best)}, {_speed(best.speedup)}"
    if best.stored_bytes is not None and any(r.gate == "max_stored_size" for r in results):
        figures += f", {_size(best.stored_bytes)}"
    head = f"{verdict}: {'best' if best_passes else 'closest'} "
    room = MAX_DESCRIPTION - len(head) - len(figures)
    name = best.variant if len(best.variant) <= room else best.variant[:max(room - 1, 0)] + "…"
    return (head + name + figures)[:MAX_DESCRIPTION]
