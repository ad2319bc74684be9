"""The whole distributed stack on real processes: PostgreSQL, Redis, ``squeezelab api`` and
Celery workers (``squeezelab worker``). The happy path, then the faults of design.md:
a SIGKILLed worker, a Redis that lost its data, and an API that is down for 30 s."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from liveapi import free_port
from stack import (
    ADMIN_TOKEN,
    Process,
    api_process,
    fresh_postgres,
    own_redis_db,
    wait_for,
    wait_ready,
)

from client import Client
from client.models import Run

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).parents[3]
SUMMARY_KEYS = {"metric", "metrics", "baseline_metrics", "accuracy", "baseline_accuracy",
                "accuracy_drop", "sparsity", "layer_sparsity",
                "params_total", "params_nonzero", "size_bytes", "macs", "latency_ms",
                "speedup", "hardware"}
STEPS_PER_EPOCH = 5  # 1,078 training digits in batches of 256
FAST = {"latency": {"batch_sizes": [1], "warmup": 1, "repeats": 3, "runtimes": ["torch"]}}


class Stack:
    """One API process and any number of worker processes on a fresh database and broker."""

    def __init__(self, tmp: Path, database_url: str, broker_url: str, **api_env: str) -> None:
        self.tmp, self.port = tmp, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = {k: v for k, v in os.environ.items() if not k.startswith("SQUEEZELAB_")}
        self.api_env = {**base, "SQUEEZELAB_DATABASE_URL": database_url,
                        "SQUEEZELAB_BROKER_URL": broker_url, "SQUEEZELAB_AUTH": "on",
                        "SQUEEZELAB_ADMIN_TOKEN": ADMIN_TOKEN,
                        "SQUEEZELAB_ARTIFACT_DIR": str(tmp / "artifacts"),
                        "SQUEEZELAB_RECONCILE_INTERVAL_S": "1",
                        "SQUEEZELAB_REQUEUE_AFTER_S": "3", **api_env}
        self.api = api_process(self.api_env, self.port, tmp / "api.log")
        self.workers: list[Process] = []
        self.admin = Client(self.url, ADMIN_TOKEN, timeout=10)
        self.worker_env: dict[str, str] = {}

    def start(self) -> Stack:
        self.start_api()
        token = self.admin.create_token("workers", ["worker"]).token
        base = {k: v for k, v in os.environ.items() if not k.startswith("SQUEEZELAB_")}
        # Workers get the broker, the API and a token: no database credentials.
        self.worker_env = {**base, "SQUEEZELAB_BROKER_URL": self.api_env["SQUEEZELAB_BROKER_URL"],
                           "SQUEEZELAB_API_URL": self.url, "SQUEEZELAB_TOKEN": token,
                           "SQUEEZELAB_LEASE_RENEW_S": "1"}
        return self

    def start_api(self) -> None:
        self.api.start()
        wait_ready(self.api, self.url)

    def start_worker(self, concurrency: int = 1) -> Process:
        n = len(self.workers)
        env = {**self.worker_env, "SQUEEZELAB_WORKER_DIR": str(self.tmp / f"worker{n}")}
        worker = Process(["worker", "--queues", "cpu", "--name", f"w{n}@stack",
                          "--concurrency", str(concurrency)], env,
                         self.tmp / f"worker{n}.log").start()
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.api.stop()
        self.admin.close()

    def runs(self, sweep_id: int) -> list[Run]:
        return sorted(self.admin.iter_runs(sweep_id=sweep_id), key=lambda r: r.id)

    def wait_sweep(self, sweep_id: int, timeout: float) -> list[Run]:
        def ended() -> list[Run] | None:
            runs = self.runs(sweep_id)
            return runs if all(r.status not in ("queued", "running") for r in runs) else None

        try:
            return wait_for(ended, timeout=timeout, what=f"sweep {sweep_id} to end", interval=1)
        except TimeoutError:
            logs = "\n".join(w.tail() for w in self.workers)
            raise AssertionError(f"{self.runs(sweep_id)}\n{self.api.tail()}\n{logs}") from None


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    stacks: list[Stack] = []
    with fresh_postgres() as database_url, own_redis_db() as broker_url:
        def make(**api_env: str) -> Stack:
            stack = Stack(tmp_path, database_url, broker_url, **api_env)
            stacks.append(stack)
            return stack.start()

        yield make
        for stack in stacks:
            stack.stop()


def loss_steps(admin: Client, run_id: int) -> list[int]:
    """Every stored ``train/loss`` step (one point per bucket at this resolution)."""
    series = admin.get_series(run_id, "train/loss", buckets=10_000)
    assert series.total_points == len(series.buckets) < 10_000
    return [b.step_min for b in series.buckets]


def long_spec(name: str, epochs: int) -> dict[str, Any]:
    return {"name": name, "task": "digits-mlp", "seeds": [0], "measure": FAST,
            "baseline": {"epochs": epochs, "batch_size": 256, "optimizer": {"lr": 1e-3}},
            "recipes": []}


def test_quick_example_through_cli_api_and_worker(make_stack: Callable[..., Stack]) -> None:
    """Through the CLI, on one worker with two pool processes that share the CPUs."""
    stack = make_stack()
    stack.start_worker(concurrency=2)
    env = {**stack.worker_env, "SQUEEZELAB_API_URL": stack.url, "SQUEEZELAB_TOKEN": ADMIN_TOKEN}
    done = subprocess.run([sys.executable, "-m", "squeezelab", "submit",
                           str(ROOT / "examples" / "quick.yaml"), "--wait"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    (sweep,) = stack.admin.list_sweeps().items
    runs = stack.runs(sweep.id)
    assert len(runs) == 5 and all(r.status == "succeeded" for r in runs), runs
    for run in runs:
        assert run.summary is not None and set(run.summary.to_json()) >= SUMMARY_KEYS, run.name
        if run.variant.startswith("sensitivity"):
            continue
        steps = loss_steps(stack.admin, run.id)
        assert steps == list(range(len(steps))) and steps, run.name
    assert stack.admin.get_sweep(sweep.id).status == "succeeded"
    # Each pool process trains with its share of the CPUs, not all of them.
    share = max(1, len(os.sched_getaffinity(0)) // 2)
    (worker,) = stack.admin.list_workers()
    assert worker.hardware["threads"] == share
    log = stack.tmp / "run.log"
    stack.admin.download_artifact(runs[-1].id, "run.log", log)
    assert f"(torch threads: {share})" in log.read_text()


def test_sigkilled_worker_run_resumes_from_its_checkpoint(
        make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(SQUEEZELAB_LEASE_SECONDS="4")
    first = stack.start_worker()
    sweep = stack.admin.submit_sweep(long_spec("kill", epochs=60))
    (run,) = stack.runs(sweep.id)
    wait_for(lambda: "checkpoint.pt" in {a.name for a in stack.admin.list_artifacts(run.id)},
             timeout=120, what="the first checkpoint")
    first.kill()
    assert stack.admin.get_run(run.id).status == "running"
    stack.start_worker()
    (ended,) = stack.wait_sweep(sweep.id, timeout=300)
    assert ended.status == "succeeded" and ended.attempt == 2, ended
    steps = loss_steps(stack.admin, run.id)
    assert steps == list(range(60 * STEPS_PER_EPOCH))
    assert ended.lease_owner == "w1@stack"  # the fresh worker finished it
    log = stack.tmp / "run.log"
    stack.admin.download_artifact(run.id, "run.log", log)
    assert "resumes from epoch" in log.read_text()


def test_queued_runs_survive_a_broker_that_lost_its_data(
        make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    sweeps = [stack.admin.submit_sweep(long_spec(f"flush{i}", epochs=2)) for i in range(3)]
    broker = redis.Redis.from_url(stack.api_env["SQUEEZELAB_BROKER_URL"])
    assert broker.llen("cpu") == 3  # the three baselines wait for a worker
    broker.flushdb()  # what a Redis restart without persistence leaves
    assert broker.llen("cpu") == 0
    stack.start_worker()
    for sweep in sweeps:
        (run,) = stack.wait_sweep(sweep.id, timeout=120)
        assert run.status == "succeeded", run


def test_api_down_for_30_s_mid_run_loses_no_metric_point(
        make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(SQUEEZELAB_LEASE_SECONDS="90")
    stack.start_worker()
    sweep = stack.admin.submit_sweep(long_spec("outage", epochs=400))
    (run,) = stack.runs(sweep.id)
    wait_for(lambda: stack.admin.metric_keys(run.id), timeout=60, what="the first metrics")
    stack.api.stop()
    time.sleep(30)  # the fault itself: 30 s without an API, while the worker trains on
    stack.start_api()
    (ended,) = stack.wait_sweep(sweep.id, timeout=300)
    assert ended.status == "succeeded" and ended.attempt == 1, ended
    assert loss_steps(stack.admin, run.id) == list(range(400 * STEPS_PER_EPOCH))
