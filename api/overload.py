"""Admission control: a bounded number of API requests run at once, a bounded line waits.

Request handlers are synchronous and each holds at most one pooled database connection, so
the API runs about as many requests at once as the pool has connections. Letting more in
only moves the wait somewhere worse: into the thread pool, where requests that hold a
connection can no longer get a thread to finish on, or into the pool's queue, where they
time out as 500s. Here a request beyond the limit waits in a first-come line for a slot;
one that finds the line full, or waits longer than ``max_wait_s``, is answered 503 with
``Retry-After`` without touching a thread or the database. Health probes, the event streams
and the dashboard's static files are not counted: they do not use the pool while they run.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import send_problem


@dataclass(frozen=True)
class AdmissionLimits:
    """running: requests at once; waiting: the line's length; max_wait_s: a wait's bound."""

    running: int
    waiting: int
    max_wait_s: float
    retry_after_s: int = 1


class AdmissionControl:
    """ASGI middleware: the line in front of the request handlers (see the module)."""

    def __init__(self, app: ASGIApp, limits: AdmissionLimits,
                 counted: Callable[[str], bool]) -> None:
        self.app = app
        self.limits = limits
        self.counted = counted
        self.running = 0
        self._line: deque[asyncio.Future[None]] = deque()
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.counted(scope["path"]):
            await self.app(scope, receive, send)
            return
        if not await self._enter():
            self.refused += 1
            await self._refuse(scope, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._leave()

    async def _enter(self) -> bool:
        if self.running < self.limits.running and not self._line:
            self.running += 1
            return True
        if len(self._line) >= self.limits.waiting:
            return False
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._line.append(turn)
        try:
            await asyncio.wait_for(asyncio.shield(turn), self.limits.max_wait_s)
        except TimeoutError:
            if turn.done():  # handed a slot just as the wait ran out: take it
                return True
            self._line.remove(turn)
            return False
        except asyncio.CancelledError:
            if turn.done():  # the slot was handed over: pass it on
                self._leave()
            else:
                self._line.remove(turn)
            raise
        return True

    def _leave(self) -> None:
        """Hand the slot to the first one still waiting, or give it back."""
        while self._line:
            turn = self._line.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.running -= 1

    async def _refuse(self, scope: Scope, send: Send) -> None:
        rid = scope.get("state", {}).get("request_id", "")
        detail = (f"the API is at capacity ({self.limits.running} requests running, "
                  f"{len(self._line)} waiting); retry after {self.limits.retry_after_s} s")
        await send_problem(send, 503, "overloaded", "Service overloaded", detail,
                           scope["path"], rid,
                           headers=((b"retry-after", str(self.limits.retry_after_s).encode()),))


def counted_path(path: str) -> bool:
    """The API's own routes, less the long-lived event streams (they hold no connection)."""
    if path == "/metrics":
        return True
    return path.startswith("/api/") and not path.rstrip("/").endswith("/events")
