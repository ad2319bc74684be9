"""Retrying calls that are not idempotent on the wire (claim, complete, fail) through outages."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from client import ApiConnectionError, ApiError

T = TypeVar("T")
log = logging.getLogger("squeezelab.worker")


def transient(exc: BaseException) -> bool:
    """A failure of transport or of the server, as opposed to a refusal of the request."""
    if isinstance(exc, ApiConnectionError):
        return True
    return isinstance(exc, ApiError) and (exc.status >= 500 or exc.status == 429)


def deliver(call: Callable[[], T], *, deadline_s: float, what: str,
            first_delay_s: float = 0.5, max_delay_s: float = 15.0) -> T:
    """Call until it succeeds or fails for a reason other than a transient one; transient
    failures are retried with jittered exponential backoff until ``deadline_s`` passed."""
    end = time.monotonic() + deadline_s
    delay = first_delay_s
    while True:
        try:
            return call()
        except (ApiConnectionError, ApiError) as exc:
            if not transient(exc) or time.monotonic() + delay > end:
                raise
            log.warning("%s failed (%s); retrying in %.1f s", what, exc, delay)
        time.sleep(delay * random.uniform(0.8, 1.2))
        delay = min(delay * 2, max_delay_s)
