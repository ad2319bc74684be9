"""The task contract (docs/tasks.md): what a task gives the engine.

A task is user code with callables, in the manner of Hugging Face Trainer's ``model_init`` /
``compute_loss`` / ``compute_metrics``:

- ``build_model()``: a fresh model (the engine seeds torch first), maybe from pretrained
  weights;
- ``load_data(split_seed)``: its data, as ``TaskData`` (datasets or loader factories for
  train, validation, test and calibration, read in batches) or, for small data sets, as
  in-memory ``DataSplits`` tensors;
- ``split_batch(batch)``: a batch -> (model inputs, targets); inputs are a tensor, a tuple
  or a mapping of tensors of any dtype;
- ``loss(logits, targets)``: the training loss (cross-entropy by default);
- ``metrics``: names of built-in metrics or metric factories, the first being the primary
  metric unless ``primary_metric`` names another (the spec's ``metric`` overrides both).

A model returns a tensor of logits or an object with a ``.logits`` tensor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from compression.batches import Batch, ModelInputs, split_batch
from compression.tasks.metrics import IGNORE_INDEX, LossFn, MetricFactory


class LoaderFactory(Protocol):
    """Builds the batches of one split; ``len()`` of the result must work for training data."""

    def __call__(self, *, batch_size: int, shuffle: bool, generator: torch.Generator,
                 num_workers: int) -> Iterable[Batch]: ...


# A map-style or iterable torch Dataset, or a factory of batches.
DataSource = Dataset[Any] | LoaderFactory


@dataclass(frozen=True)
class DataSplits:
    """In-memory train / validation / test tensors (the built-in tasks' data)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


@dataclass(frozen=True)
class TaskData:
    """The data of a task, each split a ``Dataset`` or a ``LoaderFactory``.

    calibration: what static quantization calibrates on (the train split when None).
    collate_fn: how a DataLoader joins samples of a ``Dataset`` into a batch (torch's default
    stacks tensors, and tuples or dicts of tensors, as they come).
    """

    train: DataSource
    val: DataSource
    test: DataSource
    calibration: DataSource | None = None
    collate_fn: Callable[[list[Any]], Batch] | None = None


def cross_entropy(logits: torch.Tensor, targets: Any) -> torch.Tensor:
    """Cross-entropy over the last dimension; token-level logits ``(N, T, C)`` are flattened
    and targets of -100 (padding) are ignored. The default loss of a task."""
    if not isinstance(targets, torch.Tensor):
        raise TypeError(f"cross-entropy needs a target tensor, got {type(targets).__name__}")
    if logits.dim() > 2:
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                               ignore_index=IGNORE_INDEX)
    return F.cross_entropy(logits, targets, ignore_index=IGNORE_INDEX)


@dataclass(frozen=True)
class Task:
    """A model factory, its data, its loss and its metrics.

    The first eight fields are version 1 of the contract, in their old order, so plug-ins
    written against it keep working; only ``name``, ``description``, ``build_model`` and
    ``load_data`` are needed.

    input_shape, num_classes: informational (``squeezelab tasks``); example inputs come from
    real batches. classifier: module name of the output layer, whose outputs are never pruned;
    None finds it (the last Linear/Conv layer a forward pass runs). version: bump it when the
    task's code changes what it computes.
    """

    name: str
    description: str
    build_model: Callable[[], nn.Module]
    load_data: Callable[[int], TaskData | DataSplits]
    input_shape: tuple[int, ...] | None = None
    num_classes: int | None = None
    classifier: str | None = None
    tags: tuple[str, ...] = field(default=())
    loss: LossFn = cross_entropy
    metrics: Mapping[str, MetricFactory | str] | Sequence[str] = ("accuracy",)
    primary_metric: str | None = None
    split_batch: Callable[[Batch], tuple[ModelInputs, Any]] = split_batch
    version: str = "1"
