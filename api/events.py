"""In-process publish/subscribe of run state changes and new metric points, for SSE.

Services publish from worker threads after a commit; each SSE subscriber owns an asyncio
queue on the event loop. A slow subscriber loses events rather than holding memory: its
queue is bounded and ``dropped`` tells it to refetch. With several API processes each
process sees only its own events (a database LISTEN/NOTIFY bridge would lift that).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Subscription:
    loop: asyncio.AbstractEventLoop
    sweep_id: int | None
    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=1000))
    dropped: int = 0

    def _offer(self, event: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: set[Subscription] = set()

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subs)

    def subscribe(self, sweep_id: int | None) -> Subscription:
        sub = Subscription(asyncio.get_running_loop(), sweep_id)
        with self._lock:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)

    def publish(self, sweep_id: int | None, event: dict[str, Any]) -> None:
        """Thread-safe: hand ``event`` to every subscriber of ``sweep_id`` and of all sweeps;
        an event of no sweep (a worker's) reaches only the subscribers of all."""
        with self._lock:
            targets = [s for s in self._subs if s.sweep_id is None or s.sweep_id == sweep_id]
        for sub in targets:
            try:
                sub.loop.call_soon_threadsafe(sub._offer, {**event, "sweep_id": sweep_id})
            except RuntimeError:  # the subscriber's loop is closed
                self.unsubscribe(sub)
