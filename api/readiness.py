"""The readiness probe: does the database answer ``SELECT 1`` within ``ready_timeout_s``?

On PostgreSQL the probe keeps one asyncio connection of its own (psycopg's async API) and
asks on the event loop: no thread, no pooled connection, so neither the requests waiting
for a slot nor threads busy with handlers delay it. A probe that times out or fails drops
the connection; the next one connects again (bounded by ``connect_timeout``). SQLite is a
local file: its probe runs in a thread on the app's engine.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import anyio.to_thread
from sqlalchemy.engine import make_url

from api.db import Database, shut_socket
from api.errors import UnavailableError


class ReadinessProbe:
    """One probe per app. At most one check talks to the database at a time; concurrent
    callers wait on that same check (each for at most ``timeout_s``), so probes pile up
    neither connections nor tasks however long the database stays silent."""

    def __init__(self, db: Database, url: str, timeout_s: float,
                 connect_timeout_s: int) -> None:
        self.db = db
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        parsed = make_url(url)
        self._conninfo: str | None = None
        if parsed.get_backend_name() == "postgresql":
            self._conninfo = parsed.set(drivername="postgresql").render_as_string(
                hide_password=False)
        self._conn: Any = None
        self._inflight: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def check(self) -> None:
        """Return when the database answered in time; raise ``UnavailableError`` if not."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A connection and a task belong to one event loop (a test client runs
            # several, one after another): start afresh on a new one.
            self._conn, self._inflight, self._loop = None, None, loop
        if self._inflight is None or self._inflight.done():
            self._inflight = loop.create_task(self._ask())
            self._inflight.add_done_callback(_retrieve)
        task = self._inflight
        done, _ = await asyncio.wait({task}, timeout=self.timeout_s)
        if not done:
            # Not cancelled (psycopg would wait to cancel the query on the server): the
            # socket is shut, so the check ends now with a connection error.
            self._shut()
            raise UnavailableError(f"the database did not answer within {self.timeout_s:g} s")
        error = task.exception()
        if error is not None:
            raise UnavailableError("the database is unreachable") from error

    async def _ask(self) -> None:
        if self._conninfo is None:
            await anyio.to_thread.run_sync(self.db.ping)
            return
        import psycopg

        try:
            if self._conn is None or self._conn.closed:
                self._conn = await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, connect_timeout=self.connect_timeout_s)
            await self._conn.execute("SELECT 1")
        except BaseException:
            conn, self._conn = self._conn, None
            if conn is not None:
                with contextlib.suppress(Exception):  # already broken: nothing to save
                    await conn.close()
            raise

    def _shut(self) -> None:
        if self._conn is None or self._conn.closed:
            return
        with contextlib.suppress(OSError):
            shut_socket(self._conn)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and self._loop is asyncio.get_running_loop():
            with contextlib.suppress(Exception):
                await conn.close()


def _retrieve(task: asyncio.Task[None]) -> None:
    """Mark an abandoned check's error as seen (asyncio logs unretrieved ones)."""
    if not task.cancelled():
        task.exception()


