"""Schedule targets against hand-computed numbers (not the formulas re-typed)."""

from __future__ import annotations

from typing import Any

import pytest

from compression.errors import UnsupportedRecipeError
from compression.pruning import SchedulePlan, build_schedule
from compression.spec import ScheduleKind, ScheduleSpec

pytestmark = pytest.mark.unit


def _plan(spec: ScheduleSpec | None, final: float, finetune: int, spe: int) -> SchedulePlan:
    return build_schedule(spec, final_sparsity=final, finetune_epochs=finetune, steps_per_epoch=spe)


def _targets(plan: SchedulePlan) -> dict[int, float]:
    """Every step (0..total_steps) where the plan prunes, with its target."""
    found = {t: plan.target_at(t) for t in range(plan.total_steps + 5)}
    return {t: s for t, s in found.items() if s is not None}


def _approx(expected: dict[int, float]) -> Any:
    return {t: pytest.approx(s, abs=1e-9) for t, s in expected.items()}


def test_one_shot_prunes_once_before_the_first_step() -> None:
    plan = _plan(None, 0.8, finetune=3, spe=5)
    assert (plan.total_epochs, plan.steps_per_epoch, plan.total_steps) == (3, 5, 15)
    assert _targets(plan) == {0: 0.8}
    assert _targets(_plan(ScheduleSpec(kind="one_shot"), 0.8, 3, 5)) == {0: 0.8}


def test_one_shot_without_finetuning_still_prunes_after_the_last_step() -> None:
    plan = _plan(None, 0.5, finetune=0, spe=4)
    assert plan.total_steps == 0 and plan.target_at(plan.total_steps) == 0.5


def test_constant_reprunes_every_frequency_steps_from_start_epoch() -> None:
    spec = ScheduleSpec(kind="constant", start_epoch=1, frequency=3)
    plan = _plan(spec, 0.7, finetune=3, spe=4)  # steps 0..12; starts at step 4
    assert plan.total_epochs == 3
    assert _targets(plan) == {4: 0.7, 7: 0.7, 10: 0.7}
    spec = ScheduleSpec(kind="constant", start_epoch=1, frequency=4)
    assert _targets(_plan(spec, 0.7, 3, 4)) == {4: 0.7, 8: 0.7, 12: 0.7}  # 12: after the last


def test_iterative_rises_linearly_epochs_per_step_apart() -> None:
    spec = ScheduleSpec(kind="iterative", steps=4, epochs_per_step=2)
    plan = _plan(spec, 0.5, finetune=1, spe=3)
    assert plan.total_epochs == 4 * 2 + 1
    assert _targets(plan) == _approx({0: 0.125, 6: 0.25, 12: 0.375, 18: 0.5})


def test_iterative_from_an_initial_sparsity() -> None:
    spec = ScheduleSpec(kind="iterative", steps=2, epochs_per_step=1, initial_sparsity=0.1)
    assert _targets(_plan(spec, 0.9, 0, 10)) == _approx({0: 0.5, 10: 0.9})


def test_iterative_with_no_epochs_between_steps_prunes_to_final_at_step_zero() -> None:
    spec = ScheduleSpec(kind="iterative", steps=3, epochs_per_step=0)
    plan = _plan(spec, 0.6, finetune=2, spe=5)
    assert plan.total_epochs == 2
    assert _targets(plan) == {0: 0.6}


def test_agp_cubic_ramp() -> None:
    # s_t = 0.8 * (1 - (1 - t/10)^3): t=3 -> 0.8*(1-0.343), t=6 -> 0.8*(1-0.064), ...
    spec = ScheduleSpec(kind="agp", start_epoch=0, end_epoch=2, frequency=3)
    plan = _plan(spec, 0.8, finetune=3, spe=5)
    assert plan.total_epochs == 3
    assert _targets(plan) == _approx({0: 0.0, 3: 0.5256, 6: 0.7488, 9: 0.7992, 10: 0.8})


def test_agp_with_start_epoch_and_initial_sparsity() -> None:
    # t0=4, t_end=12: t=8 is halfway, 0.6 - 0.4 * 0.5^3 = 0.55.
    spec = ScheduleSpec(kind="agp", start_epoch=1, end_epoch=3, frequency=4, initial_sparsity=0.2)
    plan = _plan(spec, 0.6, finetune=2, spe=4)
    assert plan.total_epochs == 3  # end_epoch outlasts fine-tuning
    assert _targets(plan) == _approx({4: 0.2, 8: 0.55, 12: 0.6})


def test_polynomial_follows_tf_mot_without_a_forced_final_update() -> None:
    # begin=0, end=10, power 2: t=4 -> 0.5 - 0.4*0.36, t=8 -> 0.5 - 0.4*0.04; 10 % 4 != 0.
    spec = ScheduleSpec(kind="polynomial", end_epoch=1, frequency=4, power=2.0,
                        initial_sparsity=0.1)
    plan = _plan(spec, 0.5, finetune=2, spe=10)
    assert plan.total_epochs == 2
    assert _targets(plan) == _approx({0: 0.1, 4: 0.356, 8: 0.484})


def test_polynomial_reaches_final_when_frequency_divides_the_span() -> None:
    spec = ScheduleSpec(kind="polynomial", start_epoch=1, end_epoch=2, frequency=5, power=1.0)
    plan = _plan(spec, 0.5, finetune=1, spe=10)
    assert plan.total_epochs == 2
    assert _targets(plan) == _approx({10: 0.0, 15: 0.25, 20: 0.5})


@pytest.mark.parametrize("kind", ["agp", "polynomial"])
def test_ramps_need_an_end_epoch_after_the_start(kind: ScheduleKind) -> None:
    with pytest.raises(UnsupportedRecipeError):
        _plan(ScheduleSpec(kind=kind), 0.5, 5, 10)
    with pytest.raises(UnsupportedRecipeError):
        _plan(ScheduleSpec(kind=kind, start_epoch=3, end_epoch=3), 0.5, 5, 10)


def test_grid_axes_must_be_expanded_first() -> None:
    with pytest.raises(UnsupportedRecipeError, match="frequency"):
        _plan(ScheduleSpec(kind="agp", end_epoch=2, frequency=[1, 2]), 0.5, 2, 10)


def test_constant_starting_after_training_is_rejected() -> None:
    with pytest.raises(UnsupportedRecipeError):
        _plan(ScheduleSpec(kind="constant", start_epoch=4), 0.5, 3, 10)


def test_steps_per_epoch_must_be_positive() -> None:
    with pytest.raises(ValueError):
        _plan(None, 0.5, 3, 0)


def test_plan_is_immutable_and_out_of_range_steps_give_none() -> None:
    plan = _plan(None, 0.5, 1, 4)
    assert plan.target_at(-1) is None and plan.target_at(99) is None
    with pytest.raises(AttributeError):
        plan.total_epochs = 9  # type: ignore[misc]
