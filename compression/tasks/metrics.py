"""Streaming metrics: each sees every evaluation batch once, in bounded memory.

A metric is an object with ``goal`` ("max" or "min"), ``update(logits, targets)`` and
``compute() -> float``; a task names built-in ones or brings factories of its own. Logits are
``(N, C)`` or, for token-level tasks, ``(N, T, C)`` with targets ``(N, T)``; targets equal to
``IGNORE_INDEX`` (-100, padding) are left out, as cross-entropy leaves them out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from compression.errors import TaskContractError
from compression.spec.metrics import Goal, builtin_goal, top_k

IGNORE_INDEX = -100


class Metric(Protocol):
    goal: Goal

    def update(self, logits: torch.Tensor, targets: Any) -> None: ...

    def compute(self) -> float: ...


MetricFactory = Callable[[], Metric]
LossFn = Callable[[torch.Tensor, Any], torch.Tensor]


def _labels(logits: torch.Tensor, targets: Any, metric: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits as (M, C), class targets as (M,)) with ignored positions dropped."""
    if not isinstance(targets, torch.Tensor) or targets.is_floating_point():
        raise TaskContractError(f"{metric} needs integer class targets, got "
                                f"{getattr(targets, 'dtype', type(targets).__name__)}")
    flat_logits = logits.detach().reshape(-1, logits.shape[-1]).float()
    flat = targets.detach().reshape(-1).to(flat_logits.device)
    if flat.numel() != flat_logits.shape[0]:
        raise TaskContractError(f"{metric}: {tuple(targets.shape)} targets do not match "
                                f"{tuple(logits.shape)} logits")
    keep = flat != IGNORE_INDEX
    return flat_logits[keep], flat[keep]


class TopKAccuracy:
    """Fraction of samples whose target is among the ``k`` largest logits (top-1: accuracy)."""

    goal: Goal = "max"

    def __init__(self, k: int = 1) -> None:
        self.k, self.correct, self.total = k, 0, 0

    def update(self, logits: torch.Tensor, targets: Any) -> None:
        flat, labels = _labels(logits, targets, "accuracy")
        if self.k == 1:
            hits = flat.argmax(-1) == labels
        else:
            top = flat.topk(min(self.k, flat.shape[-1]), dim=-1).indices
            hits = (top == labels[:, None]).any(-1)
        self.correct += int(hits.sum())
        self.total += int(labels.numel())

    def compute(self) -> float:
        return self.correct / self.total if self.total else 0.0


class MacroF1:
    """F1 averaged over the classes that occur as a target or a prediction (as scikit-learn's
    ``f1_score(average="macro")``), from a confusion count that grows with the classes seen."""

    goal: Goal = "max"

    def __init__(self) -> None:
        self.tp = torch.zeros(0, dtype=torch.long)
        self.fp = torch.zeros(0, dtype=torch.long)
        self.fn = torch.zeros(0, dtype=torch.long)

    def _grow(self, n: int) -> None:
        if n > self.tp.numel():
            pad = n - self.tp.numel()
            self.tp, self.fp, self.fn = (torch.cat([c, torch.zeros(pad, dtype=torch.long)])
                                         for c in (self.tp, self.fp, self.fn))

    def update(self, logits: torch.Tensor, targets: Any) -> None:
        flat, labels = _labels(logits, targets, "macro_f1")
        pred = flat.argmax(-1).cpu()
        labels = labels.cpu()
        n = max(flat.shape[-1], int(labels.max()) + 1 if labels.numel() else 0)
        self._grow(n)
        size, hit = self.tp.numel(), pred == labels
        self.tp += torch.bincount(labels[hit], minlength=size)
        self.fp += torch.bincount(pred[~hit], minlength=size)
        self.fn += torch.bincount(labels[~hit], minlength=size)

    def compute(self) -> float:
        present = (self.tp + self.fp + self.fn) > 0
        if not bool(present.any()):
            return 0.0
        tp, fp, fn = (c.double() for c in (self.tp, self.fp, self.fn))
        f1 = 2 * tp / (2 * tp + fp + fn).clamp_min(1)
        return float(f1[present].mean())


class Perplexity:
    """exp of the mean cross-entropy per (non-ignored) target: for language models."""

    goal: Goal = "min"

    def __init__(self) -> None:
        self.nll, self.count = 0.0, 0

    def update(self, logits: torch.Tensor, targets: Any) -> None:
        flat, labels = _labels(logits, targets, "perplexity")
        self.nll += float(F.cross_entropy(flat, labels, reduction="sum"))
        self.count += int(labels.numel())

    def compute(self) -> float:
        return math.exp(self.nll / self.count) if self.count else math.inf


class MeanLoss:
    """The task's loss, averaged over samples (each batch weighted by its size)."""

    goal: Goal = "min"

    def __init__(self, loss: LossFn) -> None:
        self.loss, self.total, self.count = loss, 0.0, 0

    def update(self, logits: torch.Tensor, targets: Any) -> None:
        n = int(logits.shape[0])
        self.total += float(self.loss(logits.float(), targets)) * n
        self.count += n

    def compute(self) -> float:
        return self.total / self.count if self.count else math.inf


def builtin_metric(name: str, loss: LossFn) -> MetricFactory:
    """The factory of a built-in metric; ``TaskContractError`` for a name it does not know."""
    k = top_k(name)
    if name == "accuracy" or k is not None:
        return lambda: TopKAccuracy(k or 1)
    if name == "macro_f1":
        return MacroF1
    if name == "perplexity":
        return Perplexity
    if name == "loss":
        return lambda: MeanLoss(loss)
    raise TaskContractError(f"unknown metric {name!r}")


def metric_factories(metrics: Mapping[str, MetricFactory | str] | Sequence[str],
                     loss: LossFn) -> dict[str, MetricFactory]:
    """Name -> factory for a task's ``metrics`` (names of built-ins, or factories)."""
    if isinstance(metrics, Mapping):
        out = {}
        for name, factory in metrics.items():
            out[name] = builtin_metric(factory, loss) if isinstance(factory, str) else factory
        return out
    return {name: builtin_metric(name, loss) for name in metrics}


def goal_of(name: str, factory: MetricFactory) -> Goal:
    """A metric's direction: the built-in table's, else its ``goal`` attribute."""
    goal = builtin_goal(name)
    if goal is not None:
        return goal
    declared = getattr(factory(), "goal", None)
    if declared not in ("max", "min"):
        raise TaskContractError(f"metric {name!r} declares no goal ('max' or 'min')")
    return declared  # type: ignore[no-any-return]
