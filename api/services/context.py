"""What a service needs besides the session: settings, the enqueuer and the event bus."""

from __future__ import annotations

from dataclasses import dataclass

from api.enqueue import Enqueuer
from api.events import EventBus
from api.settings import Settings


@dataclass(frozen=True)
class Effects:
    """Side effects that happen after a commit: enqueueing runs and publishing events."""

    settings: Settings
    enqueuer: Enqueuer
    events: EventBus
