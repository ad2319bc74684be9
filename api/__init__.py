"""squeezelab API service: FastAPI routes -> services (state machine) -> SQLAlchemy ORM."""

from importlib.util import find_spec

# The server's libraries come with an extra: say which, rather than fail on an inner import.
_absent = next((m for m in ("fastapi", "sqlalchemy", "alembic") if find_spec(m) is None), None)
if _absent is not None:
    raise ModuleNotFoundError(f"squeezelab's API server is not installed (no module "
                              f"{_absent!r}): pip install 'squeezelab[server]'", name=_absent)
