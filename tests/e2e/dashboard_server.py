"""A real API process for browser tests: a migrated SQLite database, auth off, the built
dashboard mounted, served by uvicorn on a free local port in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from alembic import command
from alembic.config import Config

from api.app import create_app
from api.settings import Settings
from api.static import _DashboardRoute, mount_dashboard

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "frontend" / "dist"
CHROMIUM = Path("/usr/bin/chromium")


def migrate(url: str) -> None:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", url)
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "head")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def live_api(workdir: Path, dist: Path = DIST) -> Iterator[str]:
    """Yield the base URL of a running API (with the dashboard); stop it afterwards."""
    url = f"sqlite:///{workdir / 'squeezelab.db'}"
    migrate(url)
    settings = Settings(database_url=url, auth="off", artifact_dir=workdir / "artifacts")
    app = create_app(settings)
    if not any(isinstance(r, _DashboardRoute) for r in app.router.routes):
        mount_dashboard(app, dist)  # until create_app mounts it itself
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code < 500:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the API did not start within 20 s")
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
