"""The optional parts of squeezelab, and a clear message when a command needs one that is not
installed.

``pip install squeezelab`` is the CLI and SDK alone; the API server and the worker (with the
compression engine) come with the ``server`` and ``worker`` extras, both with ``all``
(pyproject.toml). A command that needs a part checks for its modules before importing
anything, so a missing part is one line naming the extra to install, not a traceback.
"""

from __future__ import annotations

from importlib.util import find_spec

import typer
from rich.markup import escape

from squeezelab.remote import err

# Top-level modules of each extra's distributions (tests/unit/squeezelab/test_extras.py keeps
# them in step with pyproject.toml).
ENGINE = ("torch", "torch_pruning", "onnx", "onnxscript", "onnxruntime", "safetensors", "numpy",
          "sklearn", "mnist1d", "PIL")
MODULES: dict[str, tuple[str, ...]] = {
    "server": ("fastapi", "uvicorn", "sqlalchemy", "alembic", "psycopg", "pydantic_settings",
               "celery"),
    "worker": (*ENGINE, "celery", "pydantic_settings"),
}
MODULES["all"] = tuple(dict.fromkeys(MODULES["server"] + MODULES["worker"]))

WHAT = {"server": "the API server", "worker": "the worker and compression engine",
        "all": "the API server and the worker"}


def missing(extra: str, modules: tuple[str, ...] | None = None) -> list[str]:
    """The modules of ``extra`` (or just ``modules``) that cannot be imported here."""
    return [name for name in (modules or MODULES[extra]) if find_spec(name) is None]


def require(command: str, extra: str, modules: tuple[str, ...] | None = None) -> None:
    """Exit with code 2 and one message naming ``squeezelab[extra]`` when ``command`` needs a
    part that is not installed. ``modules``: check only these (default: the whole extra)."""
    absent = missing(extra, modules)
    if not absent:
        return
    err.print(f"[red]error:[/] `{escape(command)}` needs {WHAT[extra]} (not installed "
              f"here: {escape(', '.join(absent))}).\n"
              f"Install it with:  pip install 'squeezelab\\[{extra}]'")
    if "torch" in absent:
        err.print("  (torch first, for its CPU build: pip install torch==2.13.0 "
                  "--index-url https://download.pytorch.org/whl/cpu)")
    raise typer.Exit(2)
