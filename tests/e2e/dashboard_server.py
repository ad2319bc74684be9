"""A real API for browser tests: a migrated SQLite database, auth off, the built dashboard
(mounted by create_app), served by the shared ``LiveApi`` on a free local port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from liveapi import LiveApi, free_port, migrate

from api.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "frontend" / "dist"
CHROMIUM = Path("/usr/bin/chromium")


@contextmanager
def live_api(workdir: Path) -> Iterator[LiveApi]:
    """Yield a running API (create_app mounts the built dashboard); a test may stop and
    start it again (an outage); stopped afterwards."""
    url = f"sqlite:///{workdir / 'squeezelab.db'}"
    migrate(url)
    settings = Settings(database_url=url, auth="off", artifact_dir=workdir / "artifacts")
    server = LiveApi(settings, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
