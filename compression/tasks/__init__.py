"""Tasks: a model, its data, its loss and its metrics, named in specs (docs/tasks.md)."""

from compression.tasks.contract import (
    DataSource,
    DataSplits,
    LoaderFactory,
    Task,
    TaskData,
    cross_entropy,
)
from compression.tasks.metrics import Metric, MetricFactory
from compression.tasks.registry import (
    ENTRY_POINT_GROUP,
    get_task,
    list_tasks,
    register_task,
    resolve_task,
)

__all__ = [
    "ENTRY_POINT_GROUP", "DataSource", "DataSplits", "LoaderFactory", "Metric", "MetricFactory",
    "Task", "TaskData", "cross_entropy", "get_task", "list_tasks", "register_task",
    "resolve_task",
]
