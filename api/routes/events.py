"""/api/v1/events: a Server-Sent Events stream of run state changes and new metric points.

A subscriber too slow to keep up loses events rather than holding memory; it is then sent
a ``resync`` event, which means: refetch, some events were lost. The stream re-checks its
token every ``stream_recheck_s`` seconds, each time in a short session of its own, and
ends once the token is revoked (or the check cannot be made)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from api.db import Database
from api.deps import SettingsDep, StreamReader
from api.events import EventBus
from api.schemas.common import MAX_ID
from api.services.tokens import still_active

router = APIRouter(prefix="/api/v1", tags=["events"])
log = logging.getLogger("squeezelab.api")
KEEPALIVE_S = 15.0
TokenCheck = Callable[[], Awaitable[bool]]


async def _always() -> bool:
    return True


def _token_check(request: Request, token_id: int | None) -> TokenCheck:
    """How the stream asks whether its token still holds (without auth it has none)."""
    if token_id is None:
        return _always
    db: Database = request.app.state.db
    check = partial(still_active, db.sessions, token_id)

    async def active() -> bool:
        try:
            return await run_in_threadpool(check)
        except SQLAlchemyError as exc:  # unconfirmed is not allowed: the client reconnects
            log.warning("could not re-check the token of an event stream: %s", exc)
            return False

    return active


async def _stream(request: Request, bus: EventBus, sweep: int | None,
                  max_events: int | None, allowed: TokenCheck,
                  recheck_s: float) -> AsyncIterator[str]:
    sub = bus.subscribe(sweep)
    loop = asyncio.get_running_loop()
    next_check = loop.time() + recheck_s
    next_keepalive = loop.time() + KEEPALIVE_S
    sent = 0
    try:
        yield ": connected\n\n"
        while max_events is None or sent < max_events:
            wait = max(0.0, min(next_check, next_keepalive) - loop.time())
            try:
                event = await asyncio.wait_for(sub.queue.get(), timeout=wait)
            except TimeoutError:
                event = None
            if loop.time() >= next_check:
                if not await allowed():
                    yield ": the token is revoked, or could not be re-checked\n\n"
                    return
                next_check = loop.time() + recheck_s
            if event is None:
                if loop.time() >= next_keepalive:
                    if await request.is_disconnected():
                        return
                    yield ": keepalive\n\n"
                    next_keepalive = loop.time() + KEEPALIVE_S
                continue
            sent += 1
            yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
            if sub.dropped:  # the queue overflowed: what was lost must be refetched
                sub.dropped = 0
                resync = {"type": "resync", "sweep_id": sweep}
                yield f"event: resync\ndata: {json.dumps(resync)}\n\n"
    finally:
        bus.unsubscribe(sub)


@router.get("/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}},
            summary="Live run state changes, metric notifications and worker changes (SSE)")
async def events(
    request: Request, principal: StreamReader, settings: SettingsDep,
    sweep: Annotated[int | None, Query(ge=1, le=MAX_ID, description="only this sweep")] = None,
    max_events: Annotated[int | None, Query(ge=1, le=10_000,
                                            description="end the stream after this many")] = None,
) -> StreamingResponse:
    bus: EventBus = request.app.state.events
    allowed = _token_check(request, principal.token_id)
    return StreamingResponse(_stream(request, bus, sweep, max_events, allowed,
                                     settings.stream_recheck_s),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
