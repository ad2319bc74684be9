"""The real API app served by uvicorn on 127.0.0.1 in a thread, for the SDK tests (imported
by name: pyproject puts tests/support on sys.path)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import uvicorn
from polling import wait_for
from pydantic import SecretStr

from api.app import create_app
from api.migrate import upgrade
from api.settings import Settings

ADMIN_TOKEN = "sqz_client-test-admin-token"


def migrate(url: str) -> None:
    """``alembic upgrade head`` on a fresh database."""
    upgrade(url)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def settings_for(tmp: Path) -> Settings:
    """Auth on with an admin token (as SQUEEZELAB_AUTH=on, SQUEEZELAB_ADMIN_TOKEN=...)."""
    url = f"sqlite:///{tmp / 'squeezelab.db'}"
    migrate(url)
    return Settings(database_url=url, auth="on", admin_token=SecretStr(ADMIN_TOKEN),
                    artifact_dir=tmp / "artifacts", lease_seconds=30, max_attempts=2)


class LiveApi:
    """One uvicorn server on ``port``; ``start`` and ``stop`` may be repeated (an outage)."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.settings, self.port = settings, port
        self.url = f"http://127.0.0.1:{port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 20.0) -> None:
        config = uvicorn.Config(create_app(self.settings), host="127.0.0.1", port=self.port,
                                log_level="warning", lifespan="on",
                                timeout_graceful_shutdown=2)  # open SSE streams end then
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        server, thread = self._server, self._thread

        def started() -> bool:
            if not thread.is_alive():
                raise RuntimeError(f"uvicorn exited before it started on port {self.port}")
            return bool(server.started)

        wait_for(started, timeout=timeout, what=f"uvicorn on port {self.port}", interval=0.01)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(20)
            self._server = self._thread = None
