"""The Celery app: one task, ``squeezelab.run(run_id)``, on the ``cpu`` and ``gpu`` queues.

Delivery is at-least-once: messages are acknowledged after the task returns
(``task_acks_late``) and given back when the worker process dies
(``task_reject_on_worker_lost``), one at a time (prefetch 1). A duplicate delivery is
harmless because the first thing the task does is claim the run, and a second claim gets 409.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery

from client import ApiConnectionError, Client
from workers.execute import RunExecutor
from workers.settings import WorkerSettings

RUN_TASK = "squeezelab.run"
QUEUES = ("cpu", "gpu")
log = logging.getLogger("squeezelab.worker")


def create_celery(settings: WorkerSettings) -> Celery:
    """The worker's Celery app, configured from ``settings`` only."""
    app = Celery("squeezelab", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="cpu",
        task_ignore_result=True,
        # Cancellation is cooperative (the lease reply), so no remote control is needed.
        worker_enable_remote_control=False,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options=_transport_options(settings),
    )
    _register_run_task(app, settings)
    return app


def _transport_options(settings: WorkerSettings) -> dict[str, Any]:
    # kombu's SQLAlchemy transport hands its options to create_engine, which rejects these;
    # it has no visibility timeout either (the claim and the reconciler cover redelivery).
    if settings.broker_url.startswith("sqla+"):
        return {}
    return {"visibility_timeout": settings.visibility_timeout_s, "polling_interval": 0.2}


_executors: dict[int, RunExecutor] = {}


def _executor(settings: WorkerSettings, worker_id: str) -> RunExecutor:
    """One HTTP client per process: prefork children must not share the parent's sockets."""
    pid = os.getpid()
    if pid not in _executors:
        token = settings.token.get_secret_value() if settings.token else None
        _executors.clear()
        _executors[pid] = RunExecutor(Client(settings.api_url, token), settings, worker_id)
    return _executors[pid]


def _register_run_task(app: Celery, settings: WorkerSettings) -> None:
    def run(self: Any, run_id: int) -> str:
        """Execute one run. While the API cannot be reached for the claim, retry with
        backoff (capped at a minute); everything after the claim handles its own errors."""
        worker_id = str(self.request.hostname or "worker")
        try:
            return _executor(settings, worker_id).execute(int(run_id))
        except ApiConnectionError as exc:
            retries = int(self.request.retries or 0)
            countdown = min(60.0, 0.5 * 2 ** retries)
            log.warning("API unreachable for run %s (%s); retry in %.1f s", run_id, exc,
                        countdown)
            raise self.retry(exc=exc, countdown=countdown) from exc

    app.task(name=RUN_TASK, bind=True, max_retries=None, acks_late=True)(run)
