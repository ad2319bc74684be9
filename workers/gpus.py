"""One worker process per GPU: ``squeezelab worker --gpus 0,1``.

Each process sees exactly one device (``CUDA_VISIBLE_DEVICES``), so a run's ``cuda`` is that
GPU and no two runs share one. The parent starts them, passes SIGINT/SIGTERM on, and when one
ends stops the others and exits with its status, so that a service manager restarts the set.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType

_GPU_LIST = re.compile(r"[0-9]{1,3}(,[0-9]{1,3}){0,63}")


@dataclass(frozen=True)
class PinnedWorker:
    """The command line and environment of one GPU's worker process."""

    gpu: int
    argv: list[str]
    env: dict[str, str]


def parse_gpus(text: str) -> list[int]:
    """``"0,1"`` -> ``[0, 1]``; ValueError for anything else (or a device named twice)."""
    cleaned = text.replace(" ", "")
    if not _GPU_LIST.fullmatch(cleaned):
        raise ValueError(f"--gpus takes device indices separated by commas (0,1), not {text!r}")
    gpus = [int(g) for g in cleaned.split(",")]
    if len(set(gpus)) != len(gpus):
        raise ValueError(f"--gpus names a device twice: {text!r}")
    return gpus


def pinned_workers(gpus: Sequence[int], *, queues: Sequence[str], name: str | None = None,
                   base_env: dict[str, str] | None = None) -> list[PinnedWorker]:
    """One single-process worker per GPU, consuming ``queues``."""
    env = dict(os.environ if base_env is None else base_env)
    stem = name or f"gpu-{os.getpid()}@{socket.gethostname()}"
    return [PinnedWorker(
        gpu=gpu,
        argv=[sys.executable, "-m", "squeezelab", "worker", "--queues", ",".join(queues),
              "--concurrency", "1", "--name", f"{stem}-cuda{gpu}"],
        env={**env, "CUDA_VISIBLE_DEVICES": str(gpu),
             # One GPU's process needs few CPU threads: data loading and the optimizer.
             "OMP_NUM_THREADS": env.get("OMP_NUM_THREADS", "4")},
    ) for gpu in gpus]


def supervise(workers: Sequence[PinnedWorker], *, poll_s: float = 0.5) -> int:
    """Run ``workers`` until one exits or a signal arrives; returns the exit status."""
    children = [subprocess.Popen(w.argv, env=w.env) for w in workers]
    stopping: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while all(child.poll() is None for child in children) and not stopping:
            time.sleep(poll_s)
        ended = next((c for c in children if c.poll() is not None), None)
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        return 0 if stopping else (ended.returncode if ended is not None else 0)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
