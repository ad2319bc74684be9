"""In-process sweeps: baselines shared, a failing run recorded, the sweep going on."""

from __future__ import annotations

from pathlib import Path

import pytest

from compression.local import RunRecord, run_local_sweep
from compression.spec import RunConfig, parse_spec

pytestmark = pytest.mark.unit


class Recorder:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[RunRecord] = []

    def run_started(self, config: RunConfig) -> None:
        self.started.append(config.name)

    def metric(self, config: RunConfig, key: str, step: int, value: float) -> None:
        pass

    def run_finished(self, record: RunRecord) -> None:
        self.finished.append(record)


def test_a_failing_run_records_its_error_and_the_sweep_goes_on(tmp_path: Path) -> None:
    spec = parse_spec({
        "name": "failing", "task": "digits-mlp", "seeds": [0],
        "baseline": {"epochs": 1},
        "recipes": [
            # Every prunable layer excluded: only the engine can tell, at run time.
            {"name": "nothing-to-prune", "prune": {"granularity": "channel", "exclude": ["*"]},
             "schedule": {"kind": "one_shot", "final_sparsity": 0.5}},
            {"name": "fine", "prune": {"granularity": "unstructured"},
             "schedule": {"kind": "one_shot", "final_sparsity": 0.5}},
        ],
        "measure": {"latency": {"batch_sizes": [1], "warmup": 0, "repeats": 3,
                                "runtimes": ["torch"]}},
    })
    recorder = Recorder()
    results = run_local_sweep(spec, workdir=tmp_path, observer=recorder)
    by_name = {r["name"]: r for r in results["runs"]}
    failed = by_name["nothing-to-prune@seed0"]
    assert failed["status"] == "failed"
    assert failed["error"]["type"] == "ImpossibleTargetError"
    assert "traceback" not in failed["error"]  # a user error, not a bug report
    assert by_name["fine@seed0"]["status"] == "succeeded"
    assert results["sweep"]["counts"] == {"succeeded": 2, "failed": 1}
    assert recorder.started == ["baseline@seed0", "nothing-to-prune@seed0", "fine@seed0"]
    assert [r.status for r in recorder.finished] == ["succeeded", "failed", "succeeded"]


def test_compress_runs_are_skipped_when_their_baseline_fails(tmp_path: Path) -> None:
    spec = parse_spec({
        "name": "no-task", "task": "does-not-exist", "seeds": [0, 1],
        "recipes": [{"name": "r", "prune": {}, "schedule": {"final_sparsity": 0.5}}],
    })
    results = run_local_sweep(spec, workdir=tmp_path)
    statuses = {r["name"]: r["status"] for r in results["runs"]}
    assert statuses == {"baseline@seed0": "failed", "baseline@seed1": "failed",
                        "r@seed0": "skipped", "r@seed1": "skipped"}
    assert results["runs"][0]["error"]["type"] == "UnknownTaskError"
