"""Where a run computes: the CPU, or the CUDA device this process was given.

A GPU worker process sees one device (``squeezelab worker --gpus 0,1`` starts one process
per GPU, each with its own ``CUDA_VISIBLE_DEVICES``), so ``cuda`` means that process's
``cuda:0``. A run that asks for CUDA on a machine without one fails with
``NoDeviceError``: another worker (one on the gpu queue) can run it, so workers retry it.
"""

from __future__ import annotations

import torch


class NoDeviceError(RuntimeError):
    """The run asked for a device this process does not have."""


def resolve_device(name: str) -> torch.device:
    """The torch device of a spec's ``device`` (``cpu`` or ``cuda``)."""
    if name == "cpu":
        return torch.device("cpu")
    if name != "cuda":
        raise NoDeviceError(f"unknown device {name!r}; use cpu or cuda")
    if not torch.cuda.is_available():
        raise NoDeviceError("the run asks for device 'cuda', but this worker has no usable "
                            "CUDA device (torch.cuda.is_available() is False; torch "
                            f"{torch.__version__}, built for CUDA {torch.version.cuda}): run "
                            "it on a gpu-queue worker")
    return torch.device("cuda", torch.cuda.current_device())


def supports_semi_structured(device: torch.device) -> bool:
    """Whether ``device`` has 2:4 sparse tensor cores (NVIDIA Ampere, compute 8.0, or newer)."""
    if device.type != "cuda":
        return False
    major, _ = torch.cuda.get_device_capability(device)
    return major >= 8


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
