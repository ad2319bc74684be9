"""Waiting in tests: poll a condition with a deadline, never a fixed sleep (imported by
name: pyproject puts tests/support on sys.path)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], *, timeout: float, what: str,
             interval: float = 0.02) -> T:
    """Poll ``check`` until it returns something truthy, and return that; raise
    ``TimeoutError`` naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
