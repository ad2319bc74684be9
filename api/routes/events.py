"""/api/v1/events: a Server-Sent Events stream of run state changes and new metric points.

A subscriber too slow to keep up loses events rather than holding memory; it is then sent
a ``resync`` event, which means: refetch, some events were lost."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import Reader
from api.events import EventBus
from api.schemas.common import MAX_ID

router = APIRouter(prefix="/api/v1", tags=["events"])
KEEPALIVE_S = 15.0


async def _stream(request: Request, bus: EventBus, sweep: int | None,
                  max_events: int | None) -> AsyncIterator[str]:
    sub = bus.subscribe(sweep)
    sent = 0
    try:
        yield ": connected\n\n"
        while max_events is None or sent < max_events:
            try:
                event = await asyncio.wait_for(sub.queue.get(), timeout=KEEPALIVE_S)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": keepalive\n\n"
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
    request: Request, _: Reader,
    sweep: Annotated[int | None, Query(ge=1, le=MAX_ID, description="only this sweep")] = None,
    max_events: Annotated[int | None, Query(ge=1, le=10_000,
                                            description="end the stream after this many")] = None,
) -> StreamingResponse:
    bus: EventBus = request.app.state.events
    return StreamingResponse(_stream(request, bus, sweep, max_events),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
