"""Fixtures of the CLI tests: the real API on a free port (SQLite, auth on; the shared
``liveapi`` helper in tests/support), a CliRunner pointed at it, and wide consoles so tables
do not fold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from clirunner import Cli
from liveapi import ADMIN_TOKEN, LiveApi, free_port, settings_for

from client import Client
from squeezelab import remote


@pytest.fixture
def live_api(tmp_path: Path) -> Iterator[LiveApi]:
    server = LiveApi(settings_for(tmp_path), free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    # The consoles are built at import; a runner's COLUMNS would come too late for them.
    for console in (remote.out, remote.err):
        monkeypatch.setattr(console, "_width", 250)


@pytest.fixture
def cli(live_api: LiveApi) -> Cli:
    return Cli(live_api.url)


@pytest.fixture
def admin(live_api: LiveApi) -> Iterator[Client]:
    """An SDK client for setting the scene and checking what the CLI did."""
    with Client(live_api.url, ADMIN_TOKEN, timeout=10, retries=2, backoff_s=0.01) as client:
        yield client
