"""Which failures of an attempt another attempt could fix.

Only the infrastructure fails by chance: the API or the network was away, the disk filled,
the process ran out of memory, a data-loader process was killed. Everything else a run
raises is deterministic: the same spec, model, data and seed raise it again, so a retry only
burns three attempts and hides the reason. Such a run fails once, with the error's message
(and its traceback, since it may be a bug).
"""

from __future__ import annotations

import torch

from client import ApiConnectionError, ApiError
from compression.device import NoDeviceError
from compression.errors import CompressionError
from workers.retry import transient

# Messages of RuntimeErrors that come from the machine, not from the model or the data.
_INFRASTRUCTURE_MESSAGES = (
    "DataLoader worker",  # a loader process was killed (OOM killer, signal)
    "out of memory",
    "CUDA error: an illegal memory access",  # a device fault poisons the process, not the run
    "NCCL",
)


def is_retryable(exc: BaseException) -> bool:
    """True when another attempt (on this or another worker) could succeed."""
    if isinstance(exc, CompressionError):
        return False
    if isinstance(exc, (ApiConnectionError, ApiError)):
        return transient(exc) if isinstance(exc, ApiError) else True
    if isinstance(exc, (MemoryError, torch.OutOfMemoryError, NoDeviceError)):
        return True  # another worker may have the memory or the device
    if isinstance(exc, OSError):
        return True  # disk full, a vanished scratch directory, a socket reset
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(m in text for m in _INFRASTRUCTURE_MESSAGES)
