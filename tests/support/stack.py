"""The real distributed stack for integration tests: a fresh PostgreSQL database, a Redis
database of its own, and the API and Celery workers as separate processes
(``squeezelab api`` / ``squeezelab worker``), each stoppable, restartable and killable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import redis
from polling import wait_for
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get("SQUEEZELAB_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SQUEEZELAB_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
ADMIN_TOKEN = "sqz_stack-test-admin-token"


@contextmanager
def fresh_postgres(prefix: str = "squeezelab_stack") -> Iterator[str]:
    """A new, empty PostgreSQL database for one test (or session); dropped afterwards.
    Raises SQLAlchemy's ``OperationalError`` when no server answers."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:
        admin.dispose()
        raise
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def own_redis_db() -> Iterator[str]:
    """The test's Redis database, emptied before and after (never the whole server)."""
    conn = redis.Redis.from_url(REDIS_URL)
    conn.flushdb()
    try:
        yield REDIS_URL
    finally:
        conn.flushdb()
        conn.close()


class Process:
    """One ``squeezelab`` subcommand in its own process group, logging to a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "squeezelab", *self.args],
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: no cleanup, no acknowledgement, no goodbye."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def api_process(env: dict[str, str], port: int, log: Path) -> Process:
    return Process(["api", "--host", "127.0.0.1", "--port", str(port)], env, log)


def wait_ready(api: Process, url: str, timeout: float = 60.0) -> None:
    def ready() -> bool:
        if not api.alive():
            raise RuntimeError(f"the API exited:\n{api.tail()}")
        try:
            return httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, timeout=timeout, what=f"the API at {url}")
