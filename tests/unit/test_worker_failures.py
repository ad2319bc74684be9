"""Which failures a worker retries: the infrastructure's, never a deterministic one."""

from __future__ import annotations

import pytest
import torch

from client import ApiConnectionError, ApiError
from compression.errors import InvalidResultError, TaskContractError
from workers.failures import is_retryable

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("exc", [
    ApiConnectionError("refused"), ApiError(503, "busy"), ApiError(429, "slow down"),
    OSError(28, "No space left on device"), MemoryError(), torch.OutOfMemoryError("cuda"),
    RuntimeError("DataLoader worker (pid 42) is killed by signal: Killed."),
])
def test_infrastructure_failures_are_retried(exc: BaseException) -> None:
    assert is_retryable(exc)


@pytest.mark.parametrize("exc", [
    InvalidResultError("the model no longer runs"), TaskContractError("bad batch"),
    RuntimeError("mat1 and mat2 shapes cannot be multiplied (2x64 and 128x10)"),
    ValueError("too many values to unpack"), IndexError("index 3 is out of bounds"),
    KeyError("logits"), TypeError("forward() missing 1 required positional argument"),
    ApiError(422, "summary refused"),
])
def test_deterministic_failures_are_not(exc: BaseException) -> None:
    assert not is_retryable(exc)
