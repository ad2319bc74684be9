"""The task registry: built-ins plus whatever the ``squeezelab.tasks`` entry points provide."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points

import torch
from torch import nn

from compression.errors import UnknownTaskError

ENTRY_POINT_GROUP = "squeezelab.tasks"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataSplits:
    """Train / validation / test tensors; inputs are float32, labels int64."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


@dataclass(frozen=True)
class Task:
    """A model factory and its data set.

    build_model: returns a freshly initialised dense model (seed torch before calling).
    load_data: split seed -> deterministic splits; the same seed always gives the same split.
    input_shape: one sample's shape, without the batch dimension.
    classifier: module name of the final layer, whose outputs are never pruned away.
    """

    name: str
    description: str
    build_model: Callable[[], nn.Module]
    load_data: Callable[[int], DataSplits]
    input_shape: tuple[int, ...]
    num_classes: int
    classifier: str
    tags: tuple[str, ...] = field(default=())


_registry: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    """Add a task (a later registration of the same name replaces the earlier one)."""
    _registry[task.name] = task
    return task


@functools.cache
def _load_entry_points() -> None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            task = obj() if callable(obj) and not isinstance(obj, Task) else obj
        except Exception:  # a broken plug-in must not hide the other tasks
            log.exception("task entry point %s failed to load", ep.name)
            continue
        if isinstance(task, Task):
            _registry.setdefault(task.name, task)
        else:
            log.error("task entry point %s gave %r, not a Task", ep.name, type(task).__name__)


def _ensure_loaded() -> None:
    from compression.tasks import builtin  # noqa: F401  (registers the built-ins)

    _load_entry_points()


def get_task(name: str) -> Task:
    """Look a task up by name; raise ``UnknownTaskError`` listing the known ones."""
    _ensure_loaded()
    try:
        return _registry[name]
    except KeyError:
        raise UnknownTaskError(name, list(_registry)) from None


def list_tasks() -> list[Task]:
    """All registered tasks, by name."""
    _ensure_loaded()
    return [_registry[n] for n in sorted(_registry)]
