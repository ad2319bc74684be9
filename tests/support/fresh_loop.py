"""Running a coroutine from a synchronous test, whatever else the process runs.

The browser tests' Playwright sync API leaves an event loop marked as running in the main
thread, and ``asyncio.run`` refuses to start inside one: a coroutine gets its own loop in a
thread of its own here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_in_fresh_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coroutine)`` in a new thread; returns its result or raises its error."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
