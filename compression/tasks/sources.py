"""Inline tasks: a spec's ``task`` block turned into a ``Task`` on the worker.

Code is found as Celery finds tasks: installed on the worker (``package.module:name``), or a
Python file on the worker's disk (``path/to/file.py:name``, relative to the working
directory). A reference that does not resolve is a ``TaskSourceError`` naming it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn

from compression.errors import CompressionError, TaskContractError
from compression.spec import (
    HFModelSource,
    ImageFolderSource,
    PythonDataSource,
    PythonModelSource,
    TaskSpec,
)
from compression.tasks.contract import DataSplits, Task, TaskData, cross_entropy
from compression.tasks.imagefolder import image_folder_data


class TaskSourceError(CompressionError):
    """A model, data or loss source named in a spec cannot be loaded on this worker."""


def _module_from_file(path: Path) -> Any:
    resolved = path.expanduser().resolve()
    if not resolved.is_file():
        raise TaskSourceError(f"no file {path} on this worker (relative paths start at the "
                              f"worker's working directory, {Path.cwd()})")
    name = "squeezelab_source_" + hashlib.sha256(str(resolved).encode()).hexdigest()[:16]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise TaskSourceError(f"{path} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise TaskSourceError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    return module


def import_ref(ref: str) -> Any:
    """The object ``module.path:attr`` or ``file.py:attr`` names."""
    where, _, attr = ref.rpartition(":")
    if where.endswith(".py"):
        obj = _module_from_file(Path(where))
    else:
        try:
            obj = importlib.import_module(where)
        except ImportError as exc:
            raise TaskSourceError(f"cannot import {where!r} on this worker ({exc}); install "
                                  "the task's code on every worker") from exc
        except Exception as exc:
            raise TaskSourceError(f"importing {where!r} failed: {type(exc).__name__}: "
                                  f"{exc}") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TaskSourceError(f"{where!r} has no attribute {attr!r}") from None
    return obj


def _callable(ref: str, what: str) -> Callable[..., Any]:
    obj = import_ref(ref)
    if not callable(obj):
        raise TaskSourceError(f"{what} {ref!r} is a {type(obj).__name__}, not a callable")
    return obj  # type: ignore[no-any-return]


def _checked_model(model: Any, origin: str) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TaskContractError(f"{origin} returned a {type(model).__name__}, not a "
                                "torch.nn.Module")
    return model


def _python_model(source: PythonModelSource) -> Callable[[], nn.Module]:
    factory = _callable(source.python, "model")
    return lambda: _checked_model(factory(**source.kwargs), source.python)


def _hf_class(name: str) -> Any:
    try:
        import transformers
    except ImportError:
        raise TaskSourceError("this worker lacks the transformers package: install "
                              "squeezelab[hf] (or transformers) on the workers") from None
    cls = getattr(transformers, name, None)
    if not isinstance(cls, type) or not hasattr(cls, "from_pretrained"):
        raise TaskSourceError(f"transformers has no model class {name!r}")
    return cls


def _hf_model(source: HFModelSource) -> Callable[[], nn.Module]:
    cls = _hf_class(source.hf)
    overrides = dict(source.config or {})

    def build() -> nn.Module:
        if source.pretrained is not None:
            directory = Path(source.pretrained).expanduser()
            if not directory.is_dir():
                raise TaskSourceError(f"no directory {directory} on this worker (hf pretrained "
                                      "is a local save_pretrained directory)")
            model = cls.from_pretrained(str(directory), local_files_only=True, **overrides)
        elif source.hf.startswith("Auto"):
            import transformers

            if "model_type" not in overrides:
                raise TaskSourceError(f"{source.hf} from a config needs config.model_type")
            settings: dict[str, Any] = dict(overrides)
            config = transformers.AutoConfig.for_model(**settings)
            model = cls.from_config(config)
        else:
            model = cls(cls.config_class(**overrides))
        return _checked_model(model, f"transformers.{source.hf}")

    return build


def _data(source: ImageFolderSource | PythonDataSource) -> Callable[[int], TaskData | DataSplits]:
    if isinstance(source, ImageFolderSource):
        return functools.partial(image_folder_data, source)
    factory = _callable(source.python, "data")
    return lambda seed: factory(seed, **source.kwargs)


@functools.lru_cache(maxsize=32)
def _task_from_json(text: str) -> Task:
    spec = TaskSpec.model_validate_json(text)
    build = (_hf_model(spec.model) if isinstance(spec.model, HFModelSource)
             else _python_model(spec.model))
    loss = cross_entropy if spec.loss == "cross_entropy" else _callable(spec.loss, "loss")
    return Task(name=spec.name, description=spec.description or "inline task",
                build_model=build, load_data=_data(spec.data), classifier=spec.classifier,
                loss=loss, metrics=tuple(spec.metrics), tags=("inline",))


def task_from_spec(spec: TaskSpec) -> Task:
    """The ``Task`` an inline spec describes (cached: data factories run once per process)."""
    return _task_from_json(spec.model_dump_json())


def task_from_ref(ref: str) -> Task:
    """The ``Task`` a Python reference names (a ``Task``, or a callable returning one)."""
    obj = import_ref(ref)
    if callable(obj) and not isinstance(obj, Task):
        obj = obj()
    if not isinstance(obj, Task):
        raise TaskSourceError(f"{ref!r} is a {type(obj).__name__}, not a "
                              "compression.tasks.Task")
    return obj
