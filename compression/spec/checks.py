"""Rules a JSON Schema cannot state (n < m, agp needs an end, distinct seeds, ...).

Each error points at the field in the submitted spec, as a JSON pointer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from compression.errors import FieldError
from compression.spec.grid import expand_recipe
from compression.spec.limits import run_count
from compression.spec.types import scalar

if TYPE_CHECKING:  # the models call these checks from their validator
    from compression.spec.models import RecipeSpec, SweepSpec

class SemanticErrors(ValueError):
    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.pointer}: {e.message}" for e in errors))


def semantic_errors(spec: SweepSpec, max_runs: int) -> Iterator[FieldError]:
    """Errors of ``spec``; its grid points are checked one by one only when there are at
    most ``max_runs`` runs (a larger sweep is refused by its size alone, unexpanded)."""
    check_variants = run_count(spec) <= max_runs
    if len(set(spec.seeds)) != len(spec.seeds):
        yield FieldError("/seeds", "seeds must be distinct")
    if spec.baseline.weights is not None and spec.baseline.epochs != 0:
        yield FieldError("/baseline/epochs", "a pretrained baseline (weights) is evaluated, "
                                             "not trained: leave epochs out, and fine-tune in "
                                             "the recipes")
    seen: set[str] = set()
    for i, recipe in enumerate(spec.recipes):
        at = f"/recipes/{i}"
        if recipe.name in seen or recipe.name == "baseline":
            yield FieldError(f"{at}/name", f"recipe name {recipe.name!r} is used twice or reserved")
        seen.add(recipe.name)
        for variant in expand_recipe(recipe) if check_variants else ():
            yield from _recipe_errors(variant, at)


def _trains(recipe: RecipeSpec) -> bool:
    """Whether a resolved recipe runs any optimizer steps (fine-tuning or a training schedule)."""
    if recipe.finetune is not None and scalar(recipe.finetune.epochs) > 0:
        return True
    schedule = recipe.schedule
    if schedule is None:
        return False
    if schedule.kind in ("agp", "polynomial"):
        return bool(schedule.end_epoch)
    return schedule.kind == "iterative" and scalar(schedule.epochs_per_step) > 0


def _recipe_errors(recipe: RecipeSpec, at: str) -> Iterator[FieldError]:
    """Check one resolved (axis-free) recipe; pointers lead to the field in the submitted spec."""
    prune, schedule = recipe.prune, recipe.schedule
    if recipe.sensitivity is not None:
        others = [k for k in ("prune", "schedule", "quantize", "distill", "finetune")
                  if getattr(recipe, k) is not None]
        if others:
            yield FieldError(f"{at}/sensitivity", f"a sensitivity recipe takes no {others[0]!r}")
        return
    if prune is None and recipe.quantize is None and recipe.distill is None:
        yield FieldError(at, "a recipe needs at least one of prune, quantize, distill, sensitivity")
    if not _trains(recipe):
        if recipe.distill is not None:
            yield FieldError(f"{at}/finetune", "distill needs training: finetune with epochs > 0")
        if recipe.quantize is not None and recipe.quantize.mode == "qat":
            yield FieldError(f"{at}/finetune", "qat needs training: finetune with epochs > 0")
    if schedule is not None and prune is None:
        yield FieldError(f"{at}/schedule", "a schedule needs a prune block")
    if prune is None:
        return
    if prune.granularity == "nm":
        if scalar(prune.n) >= scalar(prune.m):
            yield FieldError(f"{at}/prune/n", f"N:M needs n < m, got {prune.n}:{prune.m}")
        if schedule is not None and schedule.final_sparsity is not None:
            yield FieldError(f"{at}/schedule/final_sparsity",
                             "N:M sparsity is fixed by n and m; leave final_sparsity out")
        if schedule is not None and schedule.kind not in ("one_shot", "constant"):
            yield FieldError(f"{at}/schedule/kind", "N:M takes a one_shot or constant schedule")
        return
    if schedule is None or schedule.final_sparsity is None:
        yield FieldError(f"{at}/schedule/final_sparsity", "pruning needs a final_sparsity")
        return
    if scalar(schedule.initial_sparsity) > scalar(schedule.final_sparsity):
        yield FieldError(f"{at}/schedule/initial_sparsity", "must not exceed final_sparsity")
    if schedule.kind in ("agp", "polynomial"):
        end = None if schedule.end_epoch is None else scalar(schedule.end_epoch)
        if end is None:
            yield FieldError(f"{at}/schedule/end_epoch", f"{schedule.kind} needs an end_epoch")
        elif end <= scalar(schedule.start_epoch):
            yield FieldError(f"{at}/schedule/end_epoch", "must be after start_epoch")
        elif recipe.finetune is not None and scalar(recipe.finetune.epochs) < end:
            yield FieldError(f"{at}/finetune/epochs",
                             f"fine-tuning must last at least until end_epoch ({end})")
