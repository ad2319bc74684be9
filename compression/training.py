"""The training loop shared by baselines and fine-tuning, with per-step hooks for pruning.

Batches come from the task's data through the ``Workload`` (in-memory tensors sliced, or a
DataLoader with workers). A step is an optimizer step: with ``grad_accum`` it spans several
forward passes. Shuffling draws from one generator whose state the checkpoints keep, so a
resumed run sees the batches an uninterrupted one would have.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from compression.batches import batch_len, forward_logits, model_device, to_device
from compression.checkpoint import TrainState
from compression.errors import CompressionError, TaskContractError, UnsupportedRecipeError
from compression.spec import DistillSpec, OptimizerSpec, TrainSpec, scalar
from compression.workload import Workload

Emit = Callable[[str, int, float], None]
LossFn = Callable[[torch.Tensor, Any], torch.Tensor]


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


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, target: Any,
                      spec: DistillSpec, task_loss: LossFn) -> torch.Tensor:
    """alpha·T²·KL(teacher_T ‖ student_T) + (1 − alpha)·task loss (Hinton et al. 2015).

    The KL runs over the last dimension; token-level logits count each position as a sample.
    """
    t, alpha = scalar(spec.temperature), scalar(spec.alpha)
    s = student.reshape(-1, student.shape[-1]) / t
    te = teacher.reshape(-1, teacher.shape[-1]) / t
    soft = F.kl_div(F.log_softmax(s, dim=1), F.log_softmax(te, dim=1),
                    reduction="batchmean", log_target=True)
    return alpha * t * t * soft + (1.0 - alpha) * task_loss(student, target)


@dataclass
class StepHooks:
    """Callbacks the runner uses to prune during training.

    before_step(step) -> True when the model's parameters were replaced, so the optimizer
    must be rebuilt; it is called once more with the final step count after the last
    optimizer step, before the last validation. after_step(step) runs after every optimizer
    step (re-apply masks).
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


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of a ``precision`` setting on ``device`` (None: plain fp32)."""
    if precision == "fp32":
        return None
    if precision == "fp16":
        if device.type != "cuda":
            raise UnsupportedRecipeError("precision fp16 needs a CUDA device; use bf16 on CPUs")
        return torch.float16
    if precision == "bf16":
        return torch.bfloat16
    # auto: mixed precision on GPUs (bf16 where it runs natively, else fp16 with loss
    # scaling); plain fp32 on CPUs: bf16 there is a choice to make knowingly (precision: bf16).
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None


def _autocast(device: torch.device,
              dtype: torch.dtype | None) -> contextlib.AbstractContextManager[Any]:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def _groups(batches: Iterator[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive groups of ``size`` batches (the last one may be shorter)."""
    group: list[Any] = []
    for batch in batches:
        group.append(batch)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def train(model: nn.Module, work: Workload, cfg: TrainConfig, *, emit: Emit,
          hooks: StepHooks | None = None, should_stop: Callable[[], bool] | None = None,
          resume: TrainState | None = None,
          checkpoint: Callable[[TrainState], None] | None = None) -> int:
    """Train ``model`` in place; returns the number of optimizer steps taken.

    Emits ``train/loss`` and ``lr`` every step, and ``val/<metric>`` for each of the task's
    metrics and ``epoch`` at each epoch end, all on the optimizer-step axis.
    resume: a checkpoint of this phase; the caller has already loaded its model state.
    Training continues after its epoch with the saved optimizer and shuffling state.
    checkpoint: called at each epoch end (after ``hooks.after_epoch``) with the state to save.
    """
    hooks = hooks or StepHooks()
    spec, task = cfg.spec, work.task
    device = model_device(model)
    amp = autocast_dtype(spec.precision, device)
    scaler = torch.amp.GradScaler(device.type) if amp == torch.float16 else None
    total = cfg.epochs * (work.steps_per_epoch(spec) if cfg.epochs else 0)
    generator = torch.Generator().manual_seed(cfg.seed)
    optimizer = make_optimizer(list(model.parameters()), spec.optimizer)
    base_lr = scalar(spec.optimizer.lr)
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

    def loss_of(batch: Any) -> torch.Tensor:
        inputs, targets = task.split_batch(batch)
        inputs, targets = to_device(inputs, device), to_device(targets, device)
        with _autocast(device, amp):
            logits = forward_logits(model, inputs)
            if cfg.teacher is not None and cfg.distill is not None:
                with torch.no_grad():
                    teacher_logits = forward_logits(cfg.teacher, inputs)
                loss = distillation_loss(logits.float(), teacher_logits.float(), targets,
                                         cfg.distill, task.loss)
            else:
                loss = task.loss(logits.float(), targets)
        if loss.dim() != 0:
            raise TaskContractError(f"the task's loss must be a scalar, got shape "
                                    f"{tuple(loss.shape)}")
        return loss

    for epoch in range(start_epoch, cfg.epochs):
        loader = work.batches("train", batch_size=spec.batch_size, generator=generator)
        for group in _groups(iter(loader), spec.grad_accum):
            if should_stop is not None and should_stop():
                raise RunCancelledError
            if hooks.before_step is not None and hooks.before_step(step):
                optimizer = make_optimizer(list(model.parameters()), spec.optimizer)
            lr = _lr_at(spec, base_lr, step, total)
            if lr != optimizer.param_groups[0]["lr"]:
                for param_group in optimizer.param_groups:
                    param_group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            step_loss = 0.0
            # Each forward pass weighs by its samples, so a step over a short last group is
            # the step one batch of those samples would make (losses are means per sample).
            sizes = [batch_len(task.split_batch(b)[0]) for b in group] if len(group) > 1 else [1]
            for batch, size in zip(group, sizes, strict=True):
                part = loss_of(batch) * (size / sum(sizes))
                (scaler.scale(part) if scaler is not None else part).backward()  # type: ignore[no-untyped-call]
                step_loss += float(part.detach())
            if scaler is not None:
                scaler.unscale_(optimizer)
            if spec.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), spec.grad_clip)
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            if hooks.after_step is not None:
                hooks.after_step(step)
            emit("train/loss", step, step_loss)
            emit("lr", step, lr)
            step += 1
        if epoch == cfg.epochs - 1 and hooks.before_step is not None:
            # A pruning step due after the last optimizer step happens here, before the last
            # validation: the curves' final point is then the model that is reported.
            hooks.before_step(step)
        for name, value in work.evaluate(model, "val").items():
            emit(f"val/{name}", step, value)
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
