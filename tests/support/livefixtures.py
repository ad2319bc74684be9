"""Fixtures for tests that need the API as a real server (a pytest plugin named in
tests/conftest.py): uvicorn on a free port (SQLite in tmp_path, auth on) and an admin SDK
client against it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from liveapi import ADMIN_TOKEN, LiveApi, free_port, settings_for

from client import Client


@pytest.fixture
def live_api(tmp_path: Path) -> Iterator[LiveApi]:
    server = LiveApi(settings_for(tmp_path), free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def admin(live_api: LiveApi) -> Iterator[Client]:
    """An admin SDK client, with fast retries, for setting the scene and checking results."""
    with Client(live_api.url, ADMIN_TOKEN, timeout=10, retries=2, backoff_s=0.01,
                max_backoff_s=0.1) as client:
        yield client
