"""A worker played over HTTP with the SDK, for the CLI tests (imported by name: pytest puts
this folder on sys.path).

It claims queued runs (baselines first: a compress run's claim is refused until its
baseline succeeded), posts per-step curves and one ``epoch`` point per epoch, uploads a
``run.log`` and completes the run with a summary whose figures follow from its config, or
fails the runs that ``fails`` selects after their first epoch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from client import Client, ConflictError, MetricPoint
from client.models import Run

STEPS_PER_EPOCH = 4
BASELINE_ACCURACY = 0.97
DENSE_BYTES = 400_000
DENSE_P50_MS = 0.8


def epochs_of(run: Run) -> int:
    """The epochs the run trains for (the test specs use one_shot or no recipe)."""
    if run.kind == "baseline":
        return int(run.config["baseline"]["epochs"])
    finetune = run.config["recipe"].get("finetune") or {}
    return int(finetune.get("epochs", 0))


def sparsity_of(run: Run) -> float:
    """The run's target sparsity (0 for a baseline)."""
    recipe = run.config.get("recipe") or {}
    return float((recipe.get("schedule") or {}).get("final_sparsity") or 0.0)


def summary_for(run: Run) -> dict[str, Any]:
    """The run-summary contract, with figures that follow from the run's sparsity."""
    sparsity = sparsity_of(run)
    accuracy = BASELINE_ACCURACY - 0.02 * sparsity
    p50 = DENSE_P50_MS * (1 - sparsity / 2)
    return {
        "accuracy": accuracy, "baseline_accuracy": BASELINE_ACCURACY,
        "accuracy_drop": BASELINE_ACCURACY - accuracy, "sparsity": sparsity,
        "layer_sparsity": {"fc1": sparsity, "fc2": sparsity},
        "params_total": DENSE_BYTES // 4,
        "params_nonzero": round(DENSE_BYTES // 4 * (1 - sparsity)),
        "size_bytes": {"dense_fp32": DENSE_BYTES, "stored": round(DENSE_BYTES * (1 - sparsity))},
        "macs": {"dense": 100_000, "effective": round(100_000 * (1 - sparsity))},
        "latency_ms": {"torch": {"1": {"p50": p50 / 10, "p90": p50 / 8},
                                 "64": {"p50": p50, "p90": p50 * 1.1}}},
        "speedup": {"torch": {"1": DENSE_P50_MS / p50, "64": DENSE_P50_MS / p50}},
        "hardware": {"cpu": "test-cpu", "gpu": None, "threads": 1, "torch": "2.13.0"},
    }


class FakeWorker(threading.Thread):
    """Runs until ``stop()``; ``fails(run)`` picks the runs to fail."""

    def __init__(self, url: str, token: str, tmp: Path, *, worker_id: str = "fake-worker-1",
                 fails: Callable[[Run], bool] = lambda run: False) -> None:
        super().__init__(daemon=True, name=worker_id)
        self.client = Client(url, token, timeout=10, retries=2, backoff_s=0.01,
                             max_backoff_s=0.1)
        self.tmp, self.worker_id, self.fails = tmp, worker_id, fails
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def stop(self) -> None:
        self.stopping.set()
        self.join(20)
        self.client.close()
        if self.error is not None:
            raise self.error

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                if not self._one_pass():
                    self.stopping.wait(0.02)  # nothing claimable: look again shortly
        except BaseException as exc:  # surfaced by stop(), in the test's thread
            self.error = exc

    def _one_pass(self) -> bool:
        worked = False
        for run in list(self.client.iter_runs(status="queued")):
            try:
                claimed = self.client.claim_run(run.id, self.worker_id)
            except ConflictError:
                continue  # its baseline has not succeeded yet
            self.execute(claimed)
            worked = True
        return worked

    def execute(self, run: Run) -> None:
        log = self.tmp / f"run-{run.id}.log"
        lines = [f"run {run.name} on {self.worker_id}"]
        epochs = epochs_of(run)
        for epoch in range(epochs):
            self.client.heartbeat_run(run.id, self.worker_id)
            points = [MetricPoint("train/loss", s, 1.0 / (s + 1))
                      for s in range(epoch * STEPS_PER_EPOCH, (epoch + 1) * STEPS_PER_EPOCH)]
            end = (epoch + 1) * STEPS_PER_EPOCH
            points += [MetricPoint("val/accuracy", end, 0.9 + 0.01 * epoch),
                       MetricPoint("epoch", end, float(epoch + 1))]
            self.client.post_metrics(run.id, points)
            lines.append(f"epoch {epoch + 1}/{epochs} loss {1.0 / end:.4f}")
            if self.fails(run):
                lines.append("giving up: target unreachable")
                log.write_text("\n".join(lines) + "\n")
                self.client.upload_artifact(run.id, log, "run.log")
                self.client.fail_run(run.id, self.worker_id, "ImpossibleTargetError",
                                     f"cannot reach {sparsity_of(run):.0%} sparsity")
                return
        lines.append("done")
        log.write_text("\n".join(lines) + "\n")
        self.client.upload_artifact(run.id, log, "run.log")
        self.client.complete_run(run.id, self.worker_id, summary_for(run))
