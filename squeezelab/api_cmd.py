"""``squeezelab api``: migrate the database to the newest schema, then serve the API.

The database URL is the API's own setting (``SQUEEZELAB_DATABASE_URL``, default a SQLite
file under ``.squeezelab/``), so the schema that is migrated is the one that is served.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from squeezelab.extras import require
from squeezelab.remote import err

# alembic, sqlalchemy, the API and uvicorn are imported inside the functions: they take
# seconds to import, which every other command of the console script would pay, and they
# are installed only with the server extra (squeezelab[server]).


def ensure_sqlite_dir(url: str) -> None:
    """Create the directory of a SQLite database file: SQLite creates the file, not its folder."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def migrate(url: str) -> None:
    """``alembic upgrade head`` on ``url`` (creating a SQLite file's directory first), with
    the migrations that ship inside the installed package."""
    from api.migrate import upgrade

    ensure_sqlite_dir(url)
    upgrade(url)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
) -> None:
    """Migrate the database (SQUEEZELAB_DATABASE_URL), then serve the API with uvicorn."""
    require("squeezelab api", "server")
    import uvicorn
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from api.settings import Settings

    settings = Settings()
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    err.print(f"database: {escape(shown)}")
    try:
        migrate(settings.database_url)
    except (OSError, SQLAlchemyError) as exc:
        # One line, not a traceback: the usual causes are a server that is down or a bad URL.
        err.print(f"[red]error:[/] cannot migrate the database {escape(shown)}: "
                  f"{escape(str(exc).splitlines()[0])}")
        raise typer.Exit(2) from None
    err.print("schema up to date; serving the API on "
              f"http://{escape(host)}:{port} (auth {settings.auth})")
    _raise_open_files_limit()
    uvicorn.run("api.asgi:app", host=host, port=port, log_level="info")


def _raise_open_files_limit() -> None:
    """Every client connection is a file descriptor: take the hard limit, not the often
    much lower soft one, so that a thousand clients are not refused at accept()."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
