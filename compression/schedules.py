"""Sparsity schedules: what sparsity to prune to before each optimizer step.

Pure arithmetic on the spec, without torch, so that the CLI can tell how long a run trains
without loading the engine (the pruning package re-exports these names).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

from compression.errors import UnsupportedRecipeError
from compression.spec import ScheduleKind, ScheduleSpec

T = TypeVar("T")


def _one(value: T | list[T], name: str) -> T:
    """A resolved spec field; a list means the sweep grid was not expanded first."""
    if isinstance(value, list):
        raise UnsupportedRecipeError(f"schedule.{name} is a grid axis; expand the sweep first")
    return value


@dataclass(frozen=True)
class SchedulePlan:
    """A schedule resolved to optimizer steps: a table of (step, target sparsity) events.

    Step ``t`` (0-based) means "before optimizer step t"; step ``total_steps`` means after
    the last one, so a schedule ending exactly at the end of training still reaches its target.
    """

    total_epochs: int
    steps_per_epoch: int
    events: tuple[tuple[int, float], ...]

    @property
    def total_steps(self) -> int:
        return self.total_epochs * self.steps_per_epoch

    @cached_property
    def _by_step(self) -> dict[int, float]:
        # Later events at the same step win (iterative with epochs_per_step=0).
        return dict(self.events)

    def target_at(self, step: int) -> float | None:
        """The sparsity to prune to before optimizer step ``step``, or None to leave masks be."""
        return self._by_step.get(step)


def _table(events: list[tuple[int, float]], total_steps: int) -> tuple[tuple[int, float], ...]:
    """Events sorted by step and clipped to the run; each target rounded against float noise."""
    return tuple((t, round(s, 12)) for t, s in sorted(events, key=lambda e: e[0])
                 if 0 <= t <= total_steps)


def schedule_epochs(spec: ScheduleSpec | None, finetune_epochs: int) -> int:
    """The epochs a compress run trains under ``spec`` (None means one_shot): the
    ``total_epochs`` of the plan that ``build_schedule`` makes."""
    kind: ScheduleKind = "one_shot" if spec is None else _one(spec.kind, "kind")
    if spec is None or kind in ("one_shot", "constant"):
        return finetune_epochs
    if kind == "iterative":
        return _one(spec.steps, "steps") * _one(spec.epochs_per_step, "epochs_per_step") + (
            finetune_epochs)
    end_epoch = None if spec.end_epoch is None else _one(spec.end_epoch, "end_epoch")
    if end_epoch is None:
        raise UnsupportedRecipeError(f"a {kind} schedule needs end_epoch after start_epoch")
    return max(finetune_epochs, end_epoch)


def build_schedule(
    spec: ScheduleSpec | None,
    *,
    final_sparsity: float,
    finetune_epochs: int,
    steps_per_epoch: int,
) -> SchedulePlan:
    """Resolve a schedule spec into a plan over optimizer steps.

    final_sparsity: the target (taken from the spec by the caller, or 1 - n/m for N:M).
    finetune_epochs: the recipe's fine-tuning epochs; ``iterative`` trains this much after its
    last pruning step, ``agp``/``polynomial`` last at least until ``end_epoch``.
    spec None means one_shot. Kinds:

    - one_shot: prune to the target before step 0.
    - constant: prune to the target at ``start_epoch`` and again every ``frequency`` steps.
    - iterative: ``steps`` prunes ``epochs_per_step`` epochs apart, rising linearly from
      ``initial_sparsity`` to the target; then ``finetune_epochs`` more epochs.
    - agp (Zhu & Gupta 2017): s_t = s_f + (s_i - s_f)(1 - (t - t0)/(t_end - t0))^3 every
      ``frequency`` steps from t0 = start_epoch, and always at t_end = end_epoch.
    - polynomial (TF-MOT PolynomialDecay): s = s_f + (s_i - s_f)(1 - p)^power with
      p = (t - begin)/(end - begin), at steps begin <= t <= end where (t - begin) is a
      multiple of ``frequency``. Exactly as TF-MOT there is no forced update at ``end``: when
      frequency does not divide end - begin the last update falls short of the target.
    """
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be positive, got {steps_per_epoch}")
    if finetune_epochs < 0:
        raise ValueError(f"finetune_epochs must not be negative, got {finetune_epochs}")
    spe, s_f = steps_per_epoch, final_sparsity
    kind: ScheduleKind = "one_shot" if spec is None else _one(spec.kind, "kind")
    if spec is None or kind == "one_shot":
        return SchedulePlan(finetune_epochs, spe, ((0, s_f),))

    s_i = _one(spec.initial_sparsity, "initial_sparsity")
    start = _one(spec.start_epoch, "start_epoch") * spe
    frequency = _one(spec.frequency, "frequency")
    if kind == "constant":
        total = finetune_epochs * spe
        if start > total:
            raise UnsupportedRecipeError(
                f"constant schedule starts after fine-tuning ends ({finetune_epochs} epochs)"
            )
        events = [(t, s_f) for t in range(start, total + 1, frequency)]
        return SchedulePlan(finetune_epochs, spe, _table(events, total))

    if kind == "iterative":
        steps = _one(spec.steps, "steps")
        every = _one(spec.epochs_per_step, "epochs_per_step")
        epochs = schedule_epochs(spec, finetune_epochs)
        events = [((k - 1) * every * spe, s_i + (s_f - s_i) * k / steps)
                  for k in range(1, steps + 1)]
        return SchedulePlan(epochs, spe, _table(events, epochs * spe))

    end_epoch = None if spec.end_epoch is None else _one(spec.end_epoch, "end_epoch")
    if end_epoch is None or end_epoch * spe <= start:
        raise UnsupportedRecipeError(f"a {kind} schedule needs end_epoch after start_epoch")
    end = end_epoch * spe
    epochs = schedule_epochs(spec, finetune_epochs)
    span = end - start
    if kind == "agp":
        steps_at = [*range(start, end, frequency), end]
        events = [(t, s_f + (s_i - s_f) * (1 - (t - start) / span) ** 3) for t in steps_at]
    elif kind == "polynomial":
        power = _one(spec.power, "power")
        events = [(t, s_f + (s_i - s_f) * (1 - (t - start) / span) ** power)
                  for t in range(start, end + 1, frequency)]
    else:
        raise UnsupportedRecipeError(f"unknown schedule kind {kind!r}")
    return SchedulePlan(epochs, spe, _table(events, epochs * spe))
