"""``squeezelab tasks --check``: build a task and run one batch through the whole contract.

A task passes when its data loads, its model builds, one training batch gives logits, a
finite scalar loss and gradients, and its metrics compute on that batch. A failure is
reported with its reason, so a broken plug-in shows up here rather than when a run starts.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from compression.batches import ModelInputs, forward_logits, tensors_of
from compression.tasks.contract import Task


@dataclass
class TaskCheck:
    """What checking one task found."""

    name: str
    ok: bool
    detail: str
    metrics: list[str] = field(default_factory=list)
    primary: str | None = None
    inputs: str = ""
    logits: str = ""
    params: int = 0
    seconds: float = 0.0


def describe(inputs: ModelInputs) -> str:
    """``input_ids int64 (8, 16), attention_mask int64 (8, 16)`` for named inputs."""
    named = (list(inputs.items()) if isinstance(inputs, dict)
             else [("", t) for t in tensors_of(inputs)])
    return ", ".join(f"{name} {str(t.dtype).removeprefix('torch.')} {tuple(t.shape)}".strip()
                     for name, t in named if isinstance(t, torch.Tensor))


def check_task(task: Task, *, batch_size: int = 8) -> TaskCheck:
    """Build ``task`` and push one batch through it; never raises for the task's own errors."""
    from compression.workload import Workload  # the workload imports this package

    started = time.perf_counter()
    result = TaskCheck(task.name, ok=False, detail="")
    try:
        work = Workload(task)
        result.metrics, result.primary = list(work.factories), work.primary
        torch.manual_seed(0)
        model = task.build_model()
        if not isinstance(model, nn.Module):
            raise TypeError(f"build_model returned a {type(model).__name__}, not a module")
        result.params = sum(p.numel() for p in model.parameters())
        generator = torch.Generator().manual_seed(0)
        batch = next(iter(work.batches("train", batch_size=batch_size, generator=generator)))
        inputs, targets = task.split_batch(batch)
        result.inputs = describe(inputs)
        model.train()
        logits = forward_logits(model, inputs)
        result.logits = f"{tuple(logits.shape)}"
        loss = task.loss(logits.float(), targets)
        if loss.dim() != 0 or not math.isfinite(float(loss.detach())):
            raise ValueError(f"the loss is not a finite scalar: {loss}")
        loss.backward()  # type: ignore[no-untyped-call]
        for factory in work.factories.values():
            metric = factory()
            metric.update(logits.detach(), targets)
            metric.compute()
        result.ok = True
        result.detail = f"loss {float(loss.detach()):.4g}"
    except Exception as exc:  # the point is to report whatever the task's code raises
        text = str(exc).strip().splitlines()
        result.detail = f"{type(exc).__name__}: {text[0] if text else ''}"
    result.seconds = time.perf_counter() - started
    return result
