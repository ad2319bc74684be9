"""``squeezelab api``: the database is migrated (its folder created), then the API serves."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from liveapi import free_port
from polling import wait_for

from squeezelab.api_cmd import migrate

pytestmark = pytest.mark.integration


def tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_migrate_creates_the_sqlite_folder_and_the_schema(tmp_path: Path) -> None:
    db = tmp_path / "not" / "yet" / "there.db"
    migrate(f"sqlite:///{db}")
    assert {"alembic_version", "sweeps", "runs"} <= tables(db)
    migrate(f"sqlite:///{db}")  # at head already: nothing to do, no error


def test_api_command_migrates_then_serves(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "home" / "squeezelab.db"
    env = {**os.environ, "SQUEEZELAB_DATABASE_URL": f"sqlite:///{db}",
           "SQUEEZELAB_ADMIN_TOKEN": "sqz_api-cmd-test", "SQUEEZELAB_AUTH": "on",
           "SQUEEZELAB_ARTIFACT_DIR": str(tmp_path / "artifacts")}
    proc = subprocess.Popen([sys.executable, "-m", "squeezelab", "api", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        def ready() -> bool:
            assert proc.poll() is None, proc.communicate()[0]
            try:
                return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(ready, timeout=60, what="the API to start", interval=0.1)
        sweeps = httpx.get(f"{url}/api/v1/sweeps",
                           headers={"Authorization": "Bearer sqz_api-cmd-test"})
        assert sweeps.status_code == 200 and sweeps.json()["items"] == []
        assert "alembic_version" in tables(db)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert "database: sqlite:///" in output and f"http://127.0.0.1:{port}" in output
