"""Celery workers: execute runs that the API hands out, talking to it over HTTP only."""

from importlib.util import find_spec

# The engine and Celery come with an extra: say which, rather than fail on an inner import.
_absent = next((m for m in ("torch", "celery") if find_spec(m) is None), None)
if _absent is not None:
    raise ModuleNotFoundError(f"squeezelab's worker is not installed (no module "
                              f"{_absent!r}): pip install 'squeezelab[worker]'", name=_absent)
