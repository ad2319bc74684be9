"""Which machine a measurement ran on, and which library versions."""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path

import torch

from compression.spec.versions import EngineVersions, distribution_version, squeezelab_version


@functools.cache
def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Processor") and value.strip():
                return value.strip()
    except OSError:  # not Linux
        pass
    return platform.processor() or platform.machine()


@functools.cache
def _onnxruntime_version() -> str | None:
    try:
        import onnxruntime
    except ImportError:
        return None
    return str(onnxruntime.__version__)


def hardware_fingerprint(threads: int) -> dict[str, object]:
    """CPU, GPU, thread count and library versions of this process; cheap to call.

    Args:
        threads: the thread count the latency harness pinned.
    """
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "gpu": gpu,
        "threads": threads,
        "torch": torch.__version__,
        "onnxruntime": _onnxruntime_version(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def engine_versions() -> EngineVersions:
    """squeezelab's version and those of the libraries that train and measure a run."""
    return EngineVersions(squeezelab=squeezelab_version(), torch=torch.__version__,
                          transformers=distribution_version("transformers"),
                          onnxruntime=_onnxruntime_version())
