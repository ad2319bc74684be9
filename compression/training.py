"""The training loop shared by baselines and fine-tuning, with per-step hooks for pruning.

Data sets here are small enough to live in memory as tensors, so batches are index slices of
a seeded permutation: no DataLoader workers, and the same seed gives the same batches.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from compression.checkpoint import TrainState
from compression.errors import CompressionError
from compression.spec import DistillSpec, OptimizerSpec, TrainSpec, scalar
from compression.tasks import DataSplits

Emit = Callable[[str, int, float], None]


class RunCancelledError(Exception):
    """The caller asked the run to stop (cooperative cancellation)."""


def make_optimizer(params: list[nn.Parameter], spec: OptimizerSpec) -> torch.optim.Optimizer:
    """Build the optimizer a spec names (axes are resolved by then, so fields are scalars)."""
    lr = scalar(spec.lr)
    name = spec.name  # a resolved axis: one of the literals
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=spec.momentum,
                               weight_decay=spec.weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=spec.weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=spec.weight_decay)


@torch.inference_mode()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 2048) -> float:
    """Top-1 accuracy as a fraction."""
    was_training = model.training
    model.eval()
    correct = 0
    for i in range(0, len(y), batch_size):
        correct += int((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
    model.train(was_training)
    return correct / max(len(y), 1)


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, target: torch.Tensor,
                      spec: DistillSpec) -> torch.Tensor:
    """alpha·T²·KL(teacher_T ‖ student_T) + (1 − alpha)·CE (Hinton et al. 2015)."""
    t, alpha = scalar(spec.temperature), scalar(spec.alpha)
    soft = F.kl_div(F.log_softmax(student / t, dim=1), F.log_softmax(teacher / t, dim=1),
                    reduction="batchmean", log_target=True)
    return alpha * t * t * soft + (1.0 - alpha) * F.cross_entropy(student, target)


@dataclass
class StepHooks:
    """Callbacks the runner uses to prune during training.

    before_step(step) -> True when the model's parameters were replaced, so the optimizer
    must be rebuilt. after_step(step) runs after every optimizer step (re-apply masks).
    after_epoch(epoch, step) runs at each epoch end (metrics, checkpoints).
    """

    before_step: Callable[[int], bool] | None = None
    after_step: Callable[[int], None] | None = None
    after_epoch: Callable[[int, int], None] | None = None


@dataclass
class TrainConfig:
    """One training phase as the loop sees it: epochs and the optimizer/batching spec."""

    spec: TrainSpec
    epochs: int
    seed: int
    teacher: nn.Module | None = None
    distill: DistillSpec | None = None
    # "baseline" or "finetune": recorded in checkpoints so one never resumes the other phase.
    phase: str = "baseline"


def train(model: nn.Module, data: DataSplits, cfg: TrainConfig, *, emit: Emit,
          hooks: StepHooks | None = None, should_stop: Callable[[], bool] | None = None,
          resume: TrainState | None = None,
          checkpoint: Callable[[TrainState], None] | None = None) -> int:
    """Train ``model`` in place; returns the number of optimizer steps taken.

    Emits ``train/loss`` and ``lr`` every step and ``val/accuracy`` and ``epoch`` at each epoch
    end, all on the optimizer-step axis.
    resume: a checkpoint of this phase; the caller has already loaded its model state.
    Training continues after its epoch with the saved optimizer and shuffling state.
    checkpoint: called at each epoch end (after ``hooks.after_epoch``) with the state to save.
    """
    hooks = hooks or StepHooks()
    n = len(data.y_train)
    bs = cfg.spec.batch_size
    steps_per_epoch = math.ceil(n / bs)
    total = cfg.epochs * steps_per_epoch
    generator = torch.Generator().manual_seed(cfg.seed)
    optimizer = make_optimizer(list(model.parameters()), cfg.spec.optimizer)
    base_lr = scalar(cfg.spec.optimizer.lr)
    if cfg.teacher is not None:
        cfg.teacher.eval()
    model.train()
    step, start_epoch = 0, 0
    if resume is not None:
        if resume.phase != cfg.phase:
            raise CompressionError(f"a {resume.phase} checkpoint cannot resume {cfg.phase}")
        optimizer.load_state_dict(resume.optimizer)
        generator.set_state(resume.generator)
        step, start_epoch = resume.step, resume.epoch
    for epoch in range(start_epoch, cfg.epochs):
        order = torch.randperm(n, generator=generator)
        for i in range(0, n, bs):
            if should_stop is not None and should_stop():
                raise RunCancelledError
            if hooks.before_step is not None and hooks.before_step(step):
                optimizer = make_optimizer(list(model.parameters()), cfg.spec.optimizer)
            lr = _lr_at(cfg.spec, base_lr, step, total)
            if lr != optimizer.param_groups[0]["lr"]:
                for group in optimizer.param_groups:
                    group["lr"] = lr
            idx = order[i:i + bs]
            x, y = data.x_train[idx], data.y_train[idx]
            logits = model(x)
            if cfg.teacher is not None and cfg.distill is not None:
                with torch.no_grad():
                    teacher_logits = cfg.teacher(x)
                loss = distillation_loss(logits, teacher_logits, y, cfg.distill)
            else:
                loss = F.cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            if hooks.after_step is not None:
                hooks.after_step(step)
            emit("train/loss", step, float(loss.detach()))
            emit("lr", step, lr)
            step += 1
        emit("val/accuracy", step, evaluate(model, data.x_val, data.y_val))
        emit("epoch", step, float(epoch + 1))
        if hooks.after_epoch is not None:
            hooks.after_epoch(epoch, step)
        if checkpoint is not None:
            checkpoint(TrainState(phase=cfg.phase, epoch=epoch + 1, step=step,
                                  model=model.state_dict(), optimizer=optimizer.state_dict(),
                                  generator=generator.get_state()))
    return step


def _lr_at(spec: TrainSpec, base_lr: float, step: int, total: int) -> float:
    if spec.lr_schedule == "cosine" and total > 0:
        return base_lr * 0.5 * (1.0 + math.cos(math.pi * step / total))
    return base_lr
