"""The training loop: it learns, emits curves on the step axis, honours hooks and distills."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from compression.spec import DistillSpec, OptimizerSpec, TrainSpec
from compression.tasks import cross_entropy, get_task
from compression.training import (
    RunCancelledError,
    StepHooks,
    TrainConfig,
    distillation_loss,
    train,
)
from compression.workload import Workload

pytestmark = pytest.mark.unit


def test_training_learns_and_emits_every_curve() -> None:
    task = get_task("digits-mlp")
    data = task.load_data(0)
    work = Workload(task)
    torch.manual_seed(0)
    model = task.build_model()
    before = work.score(model, "val")
    points: list[tuple[str, int, float]] = []
    spec = TrainSpec(epochs=3, batch_size=64, optimizer=OptimizerSpec(lr=3e-3))
    steps = train(model, work, TrainConfig(spec, 3, seed=0),
                  emit=lambda k, s, v: points.append((k, s, v)))
    assert steps == 3 * math.ceil(len(data.y_train) / 64)
    after = work.score(model, "val")
    assert after > max(before + 0.3, 0.8)
    losses = [v for k, _, v in points if k == "train/loss"]
    assert len(losses) == steps and losses[-1] < losses[0]
    assert [v for k, _, v in points if k == "epoch"] == [1.0, 2.0, 3.0]
    assert [s for k, s, _ in points if k == "val/accuracy"] == [
        steps // 3, 2 * steps // 3, steps]


def test_same_seed_same_result() -> None:
    task = get_task("digits-mlp")
    work = Workload(task)
    weights = []
    for _ in range(2):
        torch.manual_seed(0)
        model = task.build_model()
        train(model, work, TrainConfig(TrainSpec(epochs=1), 1, seed=7), emit=lambda *a: None)
        weights.append(model.state_dict()["fc1.weight"].clone())
    assert torch.equal(weights[0], weights[1])


def test_hooks_run_every_step_and_can_rebuild_the_optimizer() -> None:
    task = get_task("digits-mlp")
    model = task.build_model()
    seen: list[int] = []
    hooks = StepHooks(before_step=lambda s: s == 2, after_step=seen.append)
    steps = train(model, Workload(task), TrainConfig(TrainSpec(epochs=1), 1, seed=0),
                  emit=lambda *a: None, hooks=hooks)
    assert seen == list(range(steps))


def test_should_stop_cancels_between_steps() -> None:
    task = get_task("digits-mlp")
    calls = iter(range(100))
    with pytest.raises(RunCancelledError):
        train(task.build_model(), Workload(task), TrainConfig(TrainSpec(epochs=5), 5, seed=0),
              emit=lambda *a: None, should_stop=lambda: next(calls) >= 3)


def test_distillation_loss_matches_the_formula() -> None:
    torch.manual_seed(0)
    student, teacher = torch.randn(8, 10), torch.randn(8, 10)
    target = torch.randint(0, 10, (8,))
    spec = DistillSpec(temperature=4.0, alpha=0.25)
    p_t = F.softmax(teacher / 4, dim=1)
    kl = (p_t * (p_t.log() - F.log_softmax(student / 4, dim=1))).sum(1).mean()
    expected = 0.25 * 16 * kl + 0.75 * F.cross_entropy(student, target)
    assert torch.allclose(distillation_loss(student, teacher, target, spec, cross_entropy),
                          expected, atol=1e-6)
    same = distillation_loss(teacher, teacher, target, DistillSpec(alpha=1.0), cross_entropy)
    assert float(same) == pytest.approx(0.0, abs=1e-6)


def _one_step(spec: TrainSpec) -> tuple[torch.Tensor, list[float]]:
    task = get_task("digits-mlp")
    torch.manual_seed(0)
    model = task.build_model()
    losses: list[float] = []
    train(model, Workload(task), TrainConfig(spec, 1, seed=0),
          emit=lambda k, s, v: losses.append(v) if k == "train/loss" else None)
    return model.state_dict()["fc1.weight"].clone(), losses


def test_gradient_accumulation_steps_once_per_group_like_one_big_batch() -> None:
    """4 batches of 16 accumulated make the same SGD step as one batch of 64 (same samples,
    mean loss), and count one optimizer step per group."""
    sgd = OptimizerSpec(name="sgd", lr=0.1, momentum=0.0)
    big, big_losses = _one_step(TrainSpec(epochs=1, batch_size=64, optimizer=sgd))
    accum, accum_losses = _one_step(TrainSpec(epochs=1, batch_size=16, grad_accum=4,
                                              optimizer=sgd))
    assert len(accum_losses) == len(big_losses)
    # The permutation is the same; 16-sample slices of it, 4 at a time, are the 64-slices.
    assert accum_losses[0] == pytest.approx(big_losses[0], rel=1e-5)
    assert torch.allclose(accum, big, atol=1e-5)


def test_gradient_clipping_bounds_the_update() -> None:
    sgd = OptimizerSpec(name="sgd", lr=1.0, momentum=0.0)
    torch.manual_seed(0)
    start = get_task("digits-mlp").build_model().state_dict()["fc1.weight"].clone()
    free, _ = _one_step(TrainSpec(epochs=1, batch_size=1500, optimizer=sgd))
    clipped, _ = _one_step(TrainSpec(epochs=1, batch_size=1500, optimizer=sgd, grad_clip=1e-3))
    # One step over the whole training set; with lr 1 the update is the (clipped) gradient.
    assert float((clipped - start).norm()) <= 1e-3 + 1e-6
    assert float((free - start).norm()) > 1e-2


def test_bf16_autocast_trains_on_the_cpu() -> None:
    task = get_task("digits-mlp")
    work = Workload(task)
    torch.manual_seed(0)
    model = task.build_model()
    spec = TrainSpec(epochs=3, optimizer=OptimizerSpec(lr=3e-3), precision="bf16")
    train(model, work, TrainConfig(spec, 3, seed=0), emit=lambda *a: None)
    assert work.score(model, "val") > 0.8


def test_fp16_needs_cuda() -> None:
    from compression.errors import UnsupportedRecipeError

    task = get_task("digits-mlp")
    with pytest.raises(UnsupportedRecipeError, match="fp16 needs a CUDA"):
        train(task.build_model(), Workload(task),
              TrainConfig(TrainSpec(epochs=1, precision="fp16"), 1, seed=0),
              emit=lambda *a: None)
