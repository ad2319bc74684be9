"""Resolved runs: a spec expanded into baselines and compress runs, with stable hashes."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from compression.spec.grid import expand_recipe, recipe_axes
from compression.spec.limits import DEFAULT_MAX_RUNS, check_run_count
from compression.spec.metrics import MetricSpec
from compression.spec.models import (
    SPEC_VERSION,
    BaselineSpec,
    GuardSpec,
    MeasureSpec,
    RecipeSpec,
    SweepSpec,
    TaskRef,
)
from compression.spec.task import LoaderSpec
from compression.spec.types import NonNegInt, SpecModel


class RunConfig(SpecModel):
    """One resolved run: a grid point and a seed. This is what a worker executes.

    Stored by the API as JSON; ``compression.spec.stored.load_run_config`` reads one back,
    migrating older versions.
    """

    version: int = SPEC_VERSION
    name: str
    kind: Literal["baseline", "compress"]
    task: TaskRef
    seed: NonNegInt
    device: Literal["cpu", "cuda"]
    metric: MetricSpec | None = None
    loader: LoaderSpec = LoaderSpec()
    baseline: BaselineSpec
    recipe: RecipeSpec | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    measure: MeasureSpec = MeasureSpec()
    # Compress runs only: whether a result counts (a baseline is what results are judged by).
    guard: GuardSpec = GuardSpec()

    @property
    def task_name(self) -> str:
        return self.task if isinstance(self.task, str) else self.task.name

    @property
    def config_hash(self) -> str:
        """A stable hash of what determines the run's result (not its display name).

        Fields at their default are left out, so a later version that adds a field keeps
        the hashes of configs that do not use it.
        """
        return _stable_hash(self.model_dump(mode="json", exclude_defaults=True,
                                            exclude={"name", "params", "version"}))

    @property
    def baseline_key(self) -> str:
        """Runs with the same key share one dense baseline: (task, seed, baseline config)."""
        return _stable_hash({
            "task": self.task if isinstance(self.task, str) else self.task.model_dump(
                mode="json", exclude_defaults=True),
            "seed": self.seed, "device": self.device,
            "metric": None if self.metric is None else self.metric.model_dump(mode="json"),
            "baseline": self.baseline.model_dump(mode="json", exclude_defaults=True)})

    @property
    def queue(self) -> str:
        return "gpu" if self.device == "cuda" else "cpu"


def _stable_hash(data: Mapping[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _format_value(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def expand(spec: SweepSpec, *, max_runs: int = DEFAULT_MAX_RUNS) -> list[RunConfig]:
    """Resolve a sweep into runs: the baselines (one per seed), then each recipe's grid × seeds.

    Raises ``SweepTooLargeError``, before making any run, when there would be more than
    ``max_runs``.
    """
    check_run_count(spec, max_runs)
    return list(iter_runs(spec))


def iter_runs(spec: SweepSpec, start: int = 0) -> Iterator[RunConfig]:
    """The runs of ``expand``, in its order, made one at a time from the ``start``-th on (a
    page of a dry run: the runs before it are counted past, not made). No size limit."""
    common = {"task": spec.task, "device": spec.device, "baseline": spec.baseline,
              "measure": spec.measure, "metric": spec.metric, "loader": spec.loader}
    seeds = len(spec.seeds)
    for seed in spec.seeds[start:]:
        yield RunConfig(name=f"baseline@seed{seed}", kind="baseline", seed=seed, **common)
    skip = max(0, start - seeds)
    for recipe in spec.recipes:
        axes = recipe_axes(recipe)
        block = math.prod(len(values) for _, values in axes) * seeds
        if skip >= block:
            skip -= block
            continue
        first_variant, first_seed = divmod(skip, seeds)
        skip = 0
        for variant in expand_recipe(recipe, first_variant):
            params = {path: _lookup(variant, path) for path, _ in axes}
            label = ",".join(f"{p.rsplit('.', 1)[-1]}={_format_value(v)}"
                             for p, v in params.items())
            base = f"{recipe.name}[{label}]" if label else recipe.name
            for seed in spec.seeds[first_seed:]:
                yield RunConfig(name=f"{base}@seed{seed}", kind="compress", seed=seed,
                                recipe=variant, params=params, guard=spec.guard, **common)
            first_seed = 0


def _lookup(model: BaseModel, dotted: str) -> Any:
    value: Any = model
    for key in dotted.split("."):
        value = getattr(value, key)
    return value
