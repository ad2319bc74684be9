"""Engine and session factory; SQLite gets foreign keys and WAL, PostgreSQL a bounded pool.

Every wait on PostgreSQL is bounded, so that a request ends (503) however the database fails:
a connection attempt by ``connect_timeout``, a wait for a pooled connection by the pool's
timeout, a statement by the server's ``statement_timeout``, and a statement whose answer
never comes back (a frozen network path: the server never saw it, so its timeout cannot
fire) by ``StuckQueryWatchdog``, which shuts the connection's socket. TCP keepalives and
``tcp_user_timeout`` let the kernel give up on a dead peer too.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("squeezelab.api.db")

# How much longer than the server's statement_timeout the client waits before it decides
# that the answer is not coming (the server cancels a slow statement itself before that).
WATCHDOG_GRACE_S = 1.0


@dataclass(frozen=True)
class DbLimits:
    """Bounds on PostgreSQL waits (ignored for SQLite, which is local and has no pool).

    pool_size: connections kept open; the API admits about this many requests at once.
    max_overflow: extra connections for background work (reconciler, notifier, health).
    pool_timeout_s: the longest wait for a pooled connection before 503.
    connect_timeout_s: the longest connection attempt (libpq's minimum is 2 s).
    statement_timeout_s: the server cancels longer statements; None leaves it unlimited
    (migrations), and then no watchdog runs either.
    """

    pool_size: int = 8
    max_overflow: int = 10
    pool_timeout_s: float = 5.0
    connect_timeout_s: int = 5
    statement_timeout_s: float | None = None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _postgres_connect_args(limits: DbLimits) -> dict[str, Any]:
    args: dict[str, Any] = {"connect_timeout": limits.connect_timeout_s,
                            "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
                            "keepalives_count": 3}
    if limits.statement_timeout_s is not None:
        ms = int(limits.statement_timeout_s * 1000)
        args["options"] = f"-c statement_timeout={ms}"
        # Sent data unacknowledged this long: the peer is gone (a partition, a dead host).
        args["tcp_user_timeout"] = int((limits.statement_timeout_s + WATCHDOG_GRACE_S) * 1000)
    return args


def make_engine(url: str, limits: DbLimits | None = None) -> Engine:
    """An engine for ``url``; creates the directory of a SQLite file."""
    limits = limits or DbLimits()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=limits.pool_size, max_overflow=limits.max_overflow,
                         pool_timeout=limits.pool_timeout_s, pool_pre_ping=True,
                         connect_args=_postgres_connect_args(limits))


def shut_socket(conn: Any) -> None:
    """Shut down (both ways) the socket of a psycopg connection, from any thread: whoever
    waits on it wakes with a connection error. Not a close: libpq still owns the descriptor.
    Raises OSError when the socket is gone already."""
    with socket.socket(fileno=os.dup(conn.pgconn.socket)) as sock:
        sock.shutdown(socket.SHUT_RDWR)


class StuckQueryWatchdog:
    """Shuts the socket of a PostgreSQL connection whose command has run too long.

    A command in progress is read from libpq (``transaction_status`` ACTIVE, which covers
    statements, commits and the pool's pings alike); it counts as the same command while no
    new statement started on the connection. Shutting the socket (not closing libpq's file
    descriptor) wakes the thread waiting on it with a connection error, which SQLAlchemy
    turns into an invalidated connection and the API into a 503.
    """

    def __init__(self, limit_s: float, interval_s: float = 0.25) -> None:
        self.limit_s = limit_s
        self.interval_s = interval_s
        self._conns: weakref.WeakSet[Any] = weakref.WeakSet()
        self._statement_at: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self._active_since: weakref.WeakKeyDictionary[Any, tuple[float, float]] = (
            weakref.WeakKeyDictionary())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="db-watchdog", daemon=True)
        self.killed = 0

    def watch(self, engine: Engine) -> None:
        """Watch every connection ``engine`` opens from now on."""
        event.listen(engine, "connect", self._on_connect)
        event.listen(engine, "before_cursor_execute", self._on_statement)

    def _on_connect(self, dbapi_conn: Any, _record: Any) -> None:
        self._conns.add(dbapi_conn)

    def _on_statement(self, conn: Any, *_: Any) -> None:
        dbapi_conn = conn.connection.dbapi_connection
        if dbapi_conn is not None:
            self._statement_at[dbapi_conn] = time.monotonic()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check(time.monotonic())
            except Exception:  # the watchdog must outlive any one odd connection
                log.exception("database watchdog check failed")

    def check(self, now: float) -> None:
        """One pass over the connections: note new commands, stop the stuck ones."""
        from psycopg.pq import TransactionStatus

        for conn in list(self._conns):
            if conn.closed or conn.info.transaction_status != TransactionStatus.ACTIVE:
                self._active_since.pop(conn, None)
                continue
            statement_at = self._statement_at.get(conn, 0.0)
            seen = self._active_since.get(conn)
            if seen is None or seen[1] != statement_at:
                self._active_since[conn] = (now, statement_at)
            elif now - seen[0] > self.limit_s:
                self._active_since.pop(conn, None)
                self._shut(conn)

    def _shut(self, conn: Any) -> None:
        try:
            shut_socket(conn)
        except OSError as exc:
            log.warning("database watchdog could not shut a stuck connection: %s", exc)
            return
        self.killed += 1
        log.warning("database command got no answer for %.0f s: connection shut",
                    self.limit_s)


class Database:
    """One engine and its session factory, owned by the app."""

    def __init__(self, url: str, limits: DbLimits | None = None) -> None:
        limits = limits or DbLimits()
        self.engine = make_engine(url, limits)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.watchdog: StuckQueryWatchdog | None = None
        if self.dialect == "postgresql" and limits.statement_timeout_s is not None:
            self.watchdog = StuckQueryWatchdog(limits.statement_timeout_s + WATCHDOG_GRACE_S)
            self.watchdog.watch(self.engine)
            self.watchdog.start()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def ping(self) -> None:
        """SELECT 1 on a pooled connection; raises SQLAlchemy's errors."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        if self.watchdog is not None:
            self.watchdog.stop()
        self.engine.dispose()
