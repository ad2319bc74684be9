"""Tasks: a registered (model factory, data set, input shape) referenced by name in specs."""

from compression.tasks.registry import (
    ENTRY_POINT_GROUP,
    DataSplits,
    Task,
    get_task,
    list_tasks,
    register_task,
)

__all__ = ["ENTRY_POINT_GROUP", "DataSplits", "Task", "get_task", "list_tasks", "register_task"]
