"""The task registry: built-ins plus whatever the ``squeezelab.tasks`` entry points provide."""

from __future__ import annotations

import functools
import logging
from importlib.metadata import entry_points

from compression.errors import UnknownTaskError, task_code_error
from compression.spec import TaskSpec
from compression.tasks.contract import Task

ENTRY_POINT_GROUP = "squeezelab.tasks"
log = logging.getLogger(__name__)


_registry: dict[str, Task] = {}
# Entry points that did not give a Task: name -> why (``squeezelab tasks`` shows them).
_broken: dict[str, str] = {}


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
        except Exception as exc:  # a broken plug-in must not hide the other tasks
            log.exception("task entry point %s failed to load", ep.name)
            _broken[ep.name] = str(task_code_error(f"entry point {ep.value}", exc))
            continue
        if isinstance(task, Task):
            _registry.setdefault(task.name, task)
        else:
            log.error("task entry point %s gave %r, not a Task", ep.name, type(task).__name__)
            _broken[ep.name] = f"entry point {ep.value} gave a {type(task).__name__}, not a Task"


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


def broken_entry_points() -> dict[str, str]:
    """The ``squeezelab.tasks`` entry points that failed to give a Task, and why."""
    _ensure_loaded()
    return dict(_broken)


def resolve_task(ref: str | TaskSpec) -> Task:
    """The task a spec names: a registered one by name, a ``Task`` object by Python reference
    (``module:attr`` or ``file.py:attr``), or an inline one built from its sources."""
    from compression.tasks.sources import task_from_ref, task_from_spec

    if isinstance(ref, str):
        return task_from_ref(ref) if ":" in ref else get_task(ref)
    return task_from_spec(ref)
