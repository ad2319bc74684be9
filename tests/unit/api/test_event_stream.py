"""The SSE stream tells a subscriber that fell behind to refetch (``resync``)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from api.events import EventBus
from api.routes.events import _stream


class _Connected:
    async def is_disconnected(self) -> bool:
        return False


async def _token_holds() -> bool:
    return True


def _frames(sweep: int, published: int, read: int) -> list[dict[str, Any]]:
    async def scenario() -> list[dict[str, Any]]:
        bus = EventBus()
        stream = _stream(_Connected(), bus, sweep, max_events=read,  # type: ignore[arg-type]
                         allowed=_token_holds, recheck_s=60.0)
        assert await anext(stream) == ": connected\n\n"
        for i in range(published):
            bus.publish(sweep, {"type": "run", "run_id": i})
        await asyncio.sleep(0)  # the loop runs the queued hand-overs
        return [json.loads(frame.split("data: ", 1)[1]) async for frame in stream]

    # In a thread of its own: in the full suite the browser tests' Playwright keeps an event
    # loop running in the main thread, where asyncio.run refuses to start another.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, scenario()).result(timeout=30)


def test_a_subscriber_within_the_queue_gets_every_event_and_no_resync() -> None:
    frames = _frames(7, published=10, read=10)
    assert [f["run_id"] for f in frames] == list(range(10))


def test_a_subscriber_that_fell_behind_is_told_to_resync_once() -> None:
    frames = _frames(7, published=1500, read=3)  # the queue holds 1,000
    assert frames == [{"type": "run", "run_id": 0, "sweep_id": 7},
                      {"type": "resync", "sweep_id": 7},
                      {"type": "run", "run_id": 1, "sweep_id": 7},
                      {"type": "run", "run_id": 2, "sweep_id": 7}]
