"""Starting a worker: register with the API, heartbeat, and consume the chosen queues."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Sequence
from typing import Any

import torch
from celery.signals import worker_process_init, worker_ready, worker_shutdown

from client import Client
from compression.measure.hardware import hardware_fingerprint
from compression.spec.versions import squeezelab_version
from compression.tasks import list_tasks
from workers.app import QUEUES, create_celery
from workers.settings import WorkerSettings

log = logging.getLogger("squeezelab.worker")


def worker_info() -> dict[str, Any]:
    """What the API's worker registry shows: hardware, squeezelab/torch/CUDA versions,
    task names."""
    hardware: dict[str, Any] = dict(hardware_fingerprint(torch.get_num_threads()))
    hardware["cuda"] = torch.version.cuda if torch.cuda.is_available() else None
    return {"hostname": socket.gethostname(), "hardware": hardware,
            "tasks": sorted(task.name for task in list_tasks()),
            "version": squeezelab_version(), "torch_version": torch.__version__}


class Registration:
    """Registers the worker once it is ready and heartbeats until it shuts down."""

    def __init__(self, client: Client, worker_id: str, queues: Sequence[str],
                 interval_s: float) -> None:
        self._client, self._worker_id, self._queues = client, worker_id, list(queues)
        self._interval_s = interval_s
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="registration", daemon=True)

    def start(self, **_: object) -> None:
        self._thread.start()

    def stop(self, **_: object) -> None:
        self._halt.set()

    def _loop(self) -> None:
        registered = False
        info = worker_info()
        while True:
            try:
                if not registered:
                    self._client.register_worker(
                        self._worker_id, info["hostname"], self._queues, tasks=info["tasks"],
                        hardware=info["hardware"], version=info["version"],
                        torch_version=info["torch_version"])
                    registered = True
                    log.info("registered as %s on queues %s", self._worker_id, self._queues)
                else:
                    self._client.heartbeat_worker(self._worker_id)
            except Exception as exc:  # the API may not be up yet; keep trying
                log.warning("worker registration/heartbeat failed: %s", exc)
            if self._halt.wait(self._interval_s if registered else 2.0):
                return


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, e.g. a container's cpuset)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def torch_threads(settings: WorkerSettings, concurrency: int, cpus: int,
                  omp: str | None = None) -> int:
    """Training threads per pool process: the setting, else ``OMP_NUM_THREADS`` (``omp``)
    when the environment sets it, else an equal share of the CPUs."""
    if settings.torch_threads is not None:
        return settings.torch_threads
    if omp is not None and omp.strip().isascii() and omp.strip().isdigit() and int(omp) > 0:
        return int(omp)
    return max(1, cpus // concurrency)


def run_worker(settings: WorkerSettings, *, queues: Sequence[str] = QUEUES,
               concurrency: int = 1, name: str | None = None) -> None:
    """Consume ``queues`` with ``concurrency`` prefork processes until stopped (blocks)."""
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown or not queues:
        raise ValueError(f"queues must be among {', '.join(QUEUES)}; got {list(queues)}")
    logging.getLogger("squeezelab").setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    node = name or f"{'-'.join(queues)}-{os.getpid()}@{socket.gethostname()}"
    threads = torch_threads(settings, concurrency, usable_cpus(), os.environ.get("OMP_NUM_THREADS"))
    # Set here for the registry (it reports this process's count), and in every pool
    # process as it starts, where the runs train.
    torch.set_num_threads(threads)
    worker_process_init.connect(lambda **_: torch.set_num_threads(threads), weak=False)
    log.info("%d process(es), %d torch thread(s) each", concurrency, threads)
    token = settings.token.get_secret_value() if settings.token else None
    registration = Registration(Client(settings.api_url, token), node, queues,
                                settings.worker_heartbeat_s)
    worker_ready.connect(registration.start, weak=False)
    worker_shutdown.connect(registration.stop, weak=False)
    settings.worker_dir.mkdir(parents=True, exist_ok=True)
    app = create_celery(settings)
    app.worker_main(["worker", "--queues", ",".join(queues), "--concurrency",
                     str(concurrency), "--hostname", node, "--loglevel", "INFO",
                     "--pool", "prefork", "--without-gossip", "--without-mingle"])
