"""PostgreSQL restart (design.md, "Reliability and security"): while the database is down the
API answers 503 problem+json, promptly; once it is back the same app recovers by itself.

The test runs its own throw-away cluster (initdb into a temporary directory, a free port),
never the machine's shared server.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from apihelpers import ADMIN_TOKEN, assert_problem, migrate
from fastapi.testclient import TestClient
from httpx import Response
from liveapi import free_port
from pydantic import SecretStr

from api.app import create_app
from api.settings import Settings

pytestmark = pytest.mark.integration  # about 2 s: not slow
CONNECT_TIMEOUT_S = 2


def _pg_bin() -> Path | None:
    """The directory of initdb/pg_ctl: $SQUEEZELAB_TEST_PG_BIN, PATH, or Debian's layout."""
    candidates = [os.environ.get("SQUEEZELAB_TEST_PG_BIN", "")]
    on_path = shutil.which("pg_ctl")
    candidates.append(str(Path(on_path).resolve().parent) if on_path else "")
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in filter(None, candidates):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


@dataclass
class Cluster:
    """A private PostgreSQL cluster driven with pg_ctl (as ``postgres`` when we are root)."""

    bin: Path
    root: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, f"{tool} {args}: {done.stdout}\n{done.stderr}"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.root / "data"), "-U", "postgres",
                  "--auth=trust", "--no-sync", "--no-instructions")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.root / "data"), "-l", str(self.root / "log"),
                  "-o", options, "-w", "-t", "30", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    pg_bin = _pg_bin()
    if pg_bin is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found; "
                    "set SQUEEZELAB_TEST_PG_BIN to their directory")
    if os.geteuid() == 0 and (shutil.which("runuser") is None or
                              subprocess.run(["id", "postgres"], capture_output=True,
                                             check=False).returncode != 0):
        pytest.skip("running as root without a 'postgres' user to own a private cluster")
    # Not under tmp_path: pytest's base directory is private to us, and the cluster's owner
    # must be able to reach its files.
    root = Path(tempfile.mkdtemp(prefix="squeezelab-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    cluster = Cluster(pg_bin, root, free_port())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:  # whatever state the test left it in
        if (root / "data" / "postmaster.pid").exists():
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def _timed(call: Callable[[], Response]) -> tuple[Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _poll(call: Callable[[], Response], status: int, deadline_s: float) -> Response:
    """Call until the status is ``status`` or the deadline passes (each call is one
    connection attempt, bounded by the connect timeout: no sleeping needed)."""
    deadline = time.monotonic() + deadline_s
    response = call()
    while response.status_code != status and time.monotonic() < deadline:
        response = call()
    return response


def test_api_answers_503_while_postgres_is_down_and_recovers(cluster: Cluster,
                                                              tmp_path: Path) -> None:
    migrate(cluster.url)
    settings = Settings(database_url=cluster.url, auth="on",
                        admin_token=SecretStr(ADMIN_TOKEN), artifact_dir=tmp_path / "artifacts",
                        db_connect_timeout_s=CONNECT_TIMEOUT_S)
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False,
                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:

        def ready() -> Response:
            response: Response = client.get("/readyz")
            return response

        def sweeps() -> Response:
            response: Response = client.get("/api/v1/sweeps")
            return response

        assert ready().status_code == 200
        assert sweeps().status_code == 200 and sweeps().json()["items"] == []

        cluster.stop()
        for call in (ready, sweeps, ready, sweeps):  # twice: pooled connections are dead too
            response, seconds = _timed(call)
            body = assert_problem(response, 503)
            assert body["type"].endswith("/unavailable")
            assert response.headers["retry-after"]
            assert seconds < CONNECT_TIMEOUT_S + 3, f"{seconds:.1f} s: not a prompt answer"

        cluster.start()  # same app, same engine and pool: no restart
        assert _poll(ready, 200, deadline_s=30).status_code == 200
        recovered = _poll(sweeps, 200, deadline_s=30)
        assert recovered.status_code == 200, recovered.text
        assert recovered.json()["items"] == []
