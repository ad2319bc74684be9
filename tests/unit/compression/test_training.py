"""The training loop: it learns, emits curves on the step axis, honours hooks and distills."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from compression.spec import DistillSpec, OptimizerSpec, TrainSpec
from compression.tasks import get_task
from compression.training import (
    RunCancelledError,
    StepHooks,
    TrainConfig,
    distillation_loss,
    evaluate,
    train,
)

pytestmark = pytest.mark.unit


def test_training_learns_and_emits_every_curve() -> None:
    task = get_task("digits-mlp")
    data = task.load_data(0)
    torch.manual_seed(0)
    model = task.build_model()
    before = evaluate(model, data.x_val, data.y_val)
    points: list[tuple[str, int, float]] = []
    spec = TrainSpec(epochs=3, batch_size=64, optimizer=OptimizerSpec(lr=3e-3))
    steps = train(model, data, TrainConfig(spec, 3, seed=0),
                  emit=lambda k, s, v: points.append((k, s, v)))
    assert steps == 3 * math.ceil(len(data.y_train) / 64)
    after = evaluate(model, data.x_val, data.y_val)
    assert after > max(before + 0.3, 0.8)
    losses = [v for k, _, v in points if k == "train/loss"]
    assert len(losses) == steps and losses[-1] < losses[0]
    assert [v for k, _, v in points if k == "epoch"] == [1.0, 2.0, 3.0]
    assert [s for k, s, _ in points if k == "val/accuracy"] == [
        steps // 3, 2 * steps // 3, steps]


def test_same_seed_same_result() -> None:
    task = get_task("digits-mlp")
    data = task.load_data(0)
    weights = []
    for _ in range(2):
        torch.manual_seed(0)
        model = task.build_model()
        train(model, data, TrainConfig(TrainSpec(epochs=1), 1, seed=7), emit=lambda *a: None)
        weights.append(model.state_dict()["fc1.weight"].clone())
    assert torch.equal(weights[0], weights[1])


def test_hooks_run_every_step_and_can_rebuild_the_optimizer() -> None:
    task = get_task("digits-mlp")
    data = task.load_data(0)
    model = task.build_model()
    seen: list[int] = []
    hooks = StepHooks(before_step=lambda s: s == 2, after_step=seen.append)
    steps = train(model, data, TrainConfig(TrainSpec(epochs=1), 1, seed=0),
                  emit=lambda *a: None, hooks=hooks)
    assert seen == list(range(steps))


def test_should_stop_cancels_between_steps() -> None:
    task = get_task("digits-mlp")
    calls = iter(range(100))
    with pytest.raises(RunCancelledError):
        train(task.build_model(), task.load_data(0), TrainConfig(TrainSpec(epochs=5), 5, seed=0),
              emit=lambda *a: None, should_stop=lambda: next(calls) >= 3)


def test_distillation_loss_matches_the_formula() -> None:
    torch.manual_seed(0)
    student, teacher = torch.randn(8, 10), torch.randn(8, 10)
    target = torch.randint(0, 10, (8,))
    spec = DistillSpec(temperature=4.0, alpha=0.25)
    p_t = F.softmax(teacher / 4, dim=1)
    kl = (p_t * (p_t.log() - F.log_softmax(student / 4, dim=1))).sum(1).mean()
    expected = 0.25 * 16 * kl + 0.75 * F.cross_entropy(student, target)
    assert torch.allclose(distillation_loss(student, teacher, target, spec), expected, atol=1e-6)
    same = distillation_loss(teacher, teacher, target, DistillSpec(alpha=1.0))
    assert float(same) == pytest.approx(0.0, abs=1e-6)
