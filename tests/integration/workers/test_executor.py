"""The run executor against the real API (uvicorn, SQLite): claim, train, stream, checkpoint,
upload, complete; user errors fail once; cancellation stops a run; a second delivery drops."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from liveapi import LiveApi

import workers.execute
from client import Client
from compression.runner import RunResult
from workers.execute import RunExecutor
from workers.settings import WorkerSettings

pytestmark = pytest.mark.integration
FAST = {"latency": {"batch_sizes": [1], "warmup": 1, "repeats": 3, "runtimes": ["torch"]}}


def spec(**overrides: Any) -> dict[str, Any]:
    return {"name": "exec", "task": "digits-mlp", "seeds": [0],
            "baseline": {"epochs": 2, "optimizer": {"lr": 3e-3}},
            "recipes": [{"name": "agp", "prune": {"granularity": "unstructured"},
                         "schedule": {"kind": "agp", "final_sparsity": 0.7, "end_epoch": 1,
                                      "frequency": 5},
                         "finetune": {"epochs": 2}}],
            "measure": FAST, **overrides}


@pytest.fixture
def executor(live_api: LiveApi, admin: Client, tmp_path: Path) -> RunExecutor:
    token = admin.create_token("worker", ["worker"]).token
    settings = WorkerSettings(api_url=live_api.url, token=token, worker_dir=tmp_path / "w",
                              lease_renew_s=0.2, delivery_deadline_s=10)
    return RunExecutor(Client(live_api.url, token, timeout=10), settings, "w1@test")


def steps(admin: Client, run_id: int, key: str) -> list[int]:
    """Every stored step of a short curve (one point per bucket at this resolution)."""
    series = admin.get_series(run_id, key, buckets=10_000)
    assert all(b.count == 1 and b.step_min == b.step_max for b in series.buckets)
    return [b.step_min for b in series.buckets]


def test_baseline_then_compress_run_end_to_end(admin: Client, executor: RunExecutor) -> None:
    created = admin.submit_sweep(spec())
    runs = sorted(admin.iter_runs(sweep_id=created.id), key=lambda r: r.id)
    baseline, compress = runs
    assert executor.execute(baseline.id) == "succeeded"
    assert executor.execute(baseline.id) == "dropped"  # a second delivery is refused
    assert executor.execute(compress.id) == "succeeded"
    done = admin.get_run(compress.id)
    assert done.status == "succeeded" and done.summary is not None
    assert done.summary.sparsity == pytest.approx(0.7, abs=1e-3)
    assert {"metric", "accuracy", "accuracy_drop", "latency_ms", "speedup", "size_bytes"} <= set(
        done.summary.to_json())
    names = {a.name for a in admin.list_artifacts(compress.id)}
    assert {"model.safetensors", "checkpoint.pt", "run.log"} <= names
    loss_steps = steps(admin, compress.id, "train/loss")
    assert loss_steps == list(range(len(loss_steps))) and len(loss_steps) > 10
    assert admin.get_sweep(created.id).status == "succeeded"


def test_user_errors_fail_once_with_the_message(admin: Client, executor: RunExecutor) -> None:
    created = admin.submit_sweep(spec(task="no-such-task", recipes=[]))
    (run,) = list(admin.iter_runs(sweep_id=created.id))
    assert executor.execute(run.id) == "failed"
    failed = admin.get_run(run.id)
    assert failed.status == "failed" and failed.attempt == 1
    assert failed.error is not None and failed.error["type"] == "UnknownTaskError"
    assert "no-such-task" in failed.error["message"]


def test_a_summary_the_api_refuses_fails_the_run_once(
        admin: Client, executor: RunExecutor, monkeypatch: pytest.MonkeyPatch) -> None:
    real = workers.execute.execute_run

    def diverged(*args: Any, **kwargs: Any) -> RunResult:
        result = real(*args, **kwargs)
        result.summary.accuracy = float("nan")  # what a diverged run could report
        return result

    monkeypatch.setattr(workers.execute, "execute_run", diverged)
    created = admin.submit_sweep(spec(recipes=[]))
    (run,) = list(admin.iter_runs(sweep_id=created.id))
    assert executor.execute(run.id) == "failed"
    failed = admin.get_run(run.id)
    assert failed.status == "failed" and failed.attempt == 1 and failed.error is not None
    assert "JSON" in failed.error["message"] or "finite" in failed.error["message"]


def test_cancel_stops_a_running_run(admin: Client, executor: RunExecutor) -> None:
    created = admin.submit_sweep(spec(baseline={"epochs": 200}, recipes=[]))
    (run,) = list(admin.iter_runs(sweep_id=created.id))
    outcome: list[str] = []
    worker = threading.Thread(target=lambda: outcome.append(executor.execute(run.id)))
    worker.start()
    series_seen = threading.Event()
    while not series_seen.wait(0.05):  # cancel once training has visibly started
        if admin.get_run(run.id).status == "running" and admin.metric_keys(run.id):
            series_seen.set()
    admin.cancel_run(run.id)
    worker.join(60)
    assert outcome == ["cancelled"]
    assert admin.get_run(run.id).status == "cancelled"


def test_a_deterministic_model_error_fails_once_not_three_times(
        admin: Client, executor: RunExecutor, monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken pruning (a test double whose step raises what a bad reshape raises) would
    raise the same on every attempt: the run fails on its first, with the traceback."""
    import compression.runner

    class BrokenPruner:
        skipped: tuple[str, ...] = ()

        def prune_to(self, target: float) -> bool:
            raise RuntimeError("shape '[2, 4, -1, 16]' is invalid for input of size 96")

        def enforce(self) -> None: ...
        def restore(self, target: float) -> None: ...
        def actual(self) -> float:
            return 0.0

    monkeypatch.setattr(compression.runner, "build_pruner",
                        lambda *_a, **_k: BrokenPruner())
    created = admin.submit_sweep(spec(baseline={"epochs": 1}))
    baseline, compress = sorted(admin.iter_runs(sweep_id=created.id), key=lambda r: r.id)
    assert executor.execute(baseline.id) == "succeeded"
    assert executor.execute(compress.id) == "failed"
    failed = admin.get_run(compress.id)
    assert failed.status == "failed" and failed.attempt == 1 and failed.error is not None
    assert failed.error["type"] == "RuntimeError"
    assert "is invalid for input of size" in failed.error["message"]
    assert "prune_to" in (failed.error.get("traceback") or "")


def test_an_infrastructure_error_is_retried(
        admin: Client, executor: RunExecutor, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(*_args: Any, **_kwargs: Any) -> RunResult:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(workers.execute, "execute_run", disk_full)
    created = admin.submit_sweep(spec(recipes=[]))
    (run,) = list(admin.iter_runs(sweep_id=created.id))
    assert executor.execute(run.id) == "requeued"
    assert admin.get_run(run.id).status == "queued"


def test_a_run_the_result_guard_refuses_fails_once_and_keeps_its_figures(
        admin: Client, executor: RunExecutor, monkeypatch: pytest.MonkeyPatch) -> None:
    real = workers.execute.execute_run

    def at_chance(*args: Any, **kwargs: Any) -> RunResult:
        result = real(*args, **kwargs)
        result.summary = result.summary.model_copy(update={"failure": "accuracy at chance"})
        return result

    created = admin.submit_sweep(spec(baseline={"epochs": 1}))
    baseline, compress = sorted(admin.iter_runs(sweep_id=created.id), key=lambda r: r.id)
    assert executor.execute(baseline.id) == "succeeded"
    monkeypatch.setattr(workers.execute, "execute_run", at_chance)
    assert executor.execute(compress.id) == "failed"
    failed = admin.get_run(compress.id)
    assert failed.status == "failed" and failed.attempt == 1 and failed.error is not None
    assert failed.error["type"] == "InvalidResultError"
    assert failed.error["message"] == "accuracy at chance"
    assert failed.summary is not None and failed.summary.failure == "accuracy at chance"
    assert failed.summary.sparsity is not None  # the figures stay for inspection
    assert "model.safetensors" in {a.name for a in admin.list_artifacts(compress.id)}
    assert steps(admin, compress.id, "train/loss")  # and the curves
