"""``submit``, ``status``, ``runs``, ``cancel`` against the real API, with a worker played
over HTTP in a thread."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml
from clirunner import Cli
from fakeworker import FakeWorker, sparsity_of
from liveapi import ADMIN_TOKEN, LiveApi
from rich.console import Console

from client import Client, MetricPoint
from squeezelab import remote_cmd
from squeezelab.watch import watch

pytestmark = pytest.mark.integration


def write_spec(tmp: Path, **changes: Any) -> Path:
    """1 baseline (2 epochs) + one_shot at 50% and 90% sparsity (3 epochs each)."""
    spec: dict[str, Any] = {
        "name": "cli-sweep", "task": "digits-mlp", "seeds": [0], "baseline": {"epochs": 2},
        "recipes": [{"name": "prune", "prune": {"granularity": "unstructured"},
                     "schedule": {"kind": "one_shot", "final_sparsity": [0.5, 0.9]},
                     "finetune": {"epochs": 3}}]}
    spec.update(changes)
    path = tmp / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def row_of(text: str, needle: str) -> str:
    return next(line for line in text.splitlines() if needle in line)


def test_submit_wait_follows_every_run_and_prints_the_results(
        cli: Cli, live_api: LiveApi, admin: Client, tmp_path: Path) -> None:
    worker = FakeWorker(live_api.url, ADMIN_TOKEN, tmp_path)
    worker.start()
    try:
        result = cli("submit", str(write_spec(tmp_path)), "--wait", "--interval", "0.05")
    finally:
        worker.stop()
    assert result.exit_code == 0, result.output
    assert "submitted sweep 1 cli-sweep: 3 runs (1 baseline)" in result.stderr
    runs = {sparsity_of(r): r for r in admin.iter_runs(sweep_id=1)}
    for run in runs.values():  # CI logs get a line per state change
        assert f"run {run.id} {run.name}: succeeded" in result.stderr
    half = row_of(result.stdout, runs[0.5].name)
    for figure in ("succeeded", "96.00%", "+1.00", "50.0%", "195.3 KiB", "0.600", "1.33×",
                   "torch b64"):
        assert figure in half, (figure, half)
    assert "0.0%" in row_of(result.stdout, runs[0.0].name)
    assert "3 runs: 3 succeeded" in result.stdout
    assert admin.get_sweep(1).source == "cli"


def test_a_failed_run_exits_1_and_shows_its_error_and_the_gates(
        cli: Cli, live_api: LiveApi, admin: Client, tmp_path: Path) -> None:
    worker = FakeWorker(live_api.url, ADMIN_TOKEN, tmp_path,
                        fails=lambda run: sparsity_of(run) == 0.9)
    worker.start()
    spec = write_spec(tmp_path, gates={"max_accuracy_drop": 0.015, "min_speedup": 1.2})
    try:
        result = cli("submit", str(spec), "--wait", "--interval", "0.05")
    finally:
        worker.stop()
    assert result.exit_code == 1, result.output
    failed = next(r for r in admin.iter_runs(sweep_id=1) if r.status == "failed")
    assert "failed" in row_of(result.stdout, failed.name)
    assert (f"✗ run {failed.id} {failed.name}: ImpossibleTargetError: cannot reach 90% sparsity"
            in result.stdout)
    assert "3 runs: 2 succeeded, 1 failed" in result.stdout
    # The gates judge the best succeeded variant; a failed run still makes the exit code 1.
    assert "gates: passed" in result.stdout
    assert ("✓ max_accuracy_drop 1.00 pt (needs ≤ 1.50 pt): prune[final_sparsity=0.5]"
            in result.stdout)
    assert "✓ min_speedup 1.33× (needs ≥ 1.20×): prune[final_sparsity=0.5]" in result.stdout


def test_an_invalid_spec_exits_2_with_the_pointer_and_stores_nothing(
        cli: Cli, admin: Client, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, recipes=[{"name": "p", "prune": {},
                                          "schedule": {"kind": "one_shot",
                                                       "final_sparsity": 1.5}}])
    result = cli("submit", str(spec), "--wait")
    assert result.exit_code == 2, result.output
    assert "/recipes/0/schedule/final_sparsity" in result.stderr
    assert "Traceback" not in result.output
    assert admin.list_sweeps().items == []


def test_status_and_runs_of_a_submitted_sweep(cli: Cli, live_api: LiveApi,
                                              tmp_path: Path) -> None:
    submitted = cli("submit", str(write_spec(tmp_path)))
    assert submitted.exit_code == 0, submitted.output
    assert submitted.stdout.strip() == "1"  # the id alone, for scripts
    status = cli("status", "1")
    assert status.exit_code == 0, status.output
    assert "sweep 1 cli-sweep (digits-mlp): queued, from cli" in status.stdout
    assert "3 runs: 3 queued" in status.stdout
    queued = cli("runs", "1")
    assert queued.stdout.count("queued after run 1") == 2

    worker = FakeWorker(live_api.url, ADMIN_TOKEN, tmp_path)
    worker.start()
    try:
        assert cli("status", "1", "--wait", "--interval", "0.05").exit_code == 0
    finally:
        worker.stop()
    best = cli("runs", "1", "--sort", "-summary.accuracy", "--limit", "2")
    assert best.exit_code == 0, best.output
    lines = [line for line in best.stdout.splitlines() if "@seed0" in line]
    assert [("97.00%" in line, "96.00%" in line) for line in lines] == [(True, False),
                                                                       (False, True)]
    assert "showing the first 2 runs" in best.stderr
    only = cli("runs", "1", "--status", "failed")
    assert only.exit_code == 0 and "@seed0" not in only.stdout
    missing = cli("status", "99")
    assert missing.exit_code == 2 and "99" in missing.stderr


def test_ctrl_c_while_waiting_detaches_without_cancelling(
        cli: Cli, admin: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(remote_cmd, "watch", functools.partial(watch, pause=interrupt))
    result = cli("submit", str(write_spec(tmp_path)), "--wait")
    assert result.exit_code == 130, result.output
    assert "Resume watching with: squeezelab status 1 --wait" in result.stderr
    assert admin.get_sweep(1).counts == {"queued": 3}


def test_the_bars_count_epochs_of_the_runs_config(live_api: LiveApi, admin: Client,
                                                   tmp_path: Path) -> None:
    """A terminal gets a bar per run: epochs done (the newest ``epoch`` point) / planned."""
    created = admin.submit_sweep(write_spec(tmp_path))
    worker = FakeWorker(live_api.url, ADMIN_TOKEN, tmp_path)
    baseline = admin.claim_run(created.baseline_run_ids[0], worker.worker_id)
    steps = [lambda: admin.post_metrics(baseline.id, [MetricPoint("epoch", 4, 1.0)]),
             lambda: admin.complete_run(baseline.id, worker.worker_id, {"accuracy": 0.97}),
             worker._one_pass]
    console = Console(force_terminal=True, width=200, record=True)
    try:
        outcome = watch(admin, created.id, console=console,
                        pause=lambda _: steps.pop(0)() if steps else None)
    finally:
        worker.client.close()
    assert outcome is not None and outcome.all_succeeded
    frames = console.export_text()
    assert "1/2 ep" in frames and "running" in frames  # the baseline mid-way
    assert frames.count("0/3 ep") >= 2  # compress runs queued behind it
    assert frames.count("3/3 ep") >= 2 and "2/2 ep" in frames


def test_cancel_a_run_then_the_sweep(cli: Cli, admin: Client, tmp_path: Path) -> None:
    created = admin.submit_sweep(write_spec(tmp_path))
    one = created.run_ids[-1]
    result = cli("cancel", "--run", str(one))
    assert result.exit_code == 0, result.output
    assert "cancelled" in result.stdout and admin.get_run(one).status == "cancelled"
    result = cli("cancel", str(created.id))
    assert result.exit_code == 0, result.output
    assert "3 runs: 3 cancelled" in result.stdout
    again = cli("cancel", str(created.id))
    assert again.exit_code == 1 and "409" in again.stderr


def test_watching_rides_out_an_api_restart(live_api: LiveApi, admin: Client,
                                           tmp_path: Path) -> None:
    created = admin.submit_sweep(write_spec(tmp_path))
    worker = FakeWorker(live_api.url, ADMIN_TOKEN, tmp_path)
    # Between polls: the API goes down, comes back, then the worker runs the sweep.
    steps = [live_api.stop, live_api.start, worker._one_pass]
    console = Console(force_terminal=False, width=200, record=True)
    try:
        outcome = watch(admin, created.id, console=console,
                        pause=lambda _: steps.pop(0)() if steps else None)
    finally:
        worker.client.close()
    assert outcome is not None and outcome.all_succeeded
    lines = console.export_text().splitlines()
    down = next(i for i, line in enumerate(lines) if line.startswith("API unavailable"))
    assert lines[down + 1] == "API reachable again"
    assert sum("API" in line for line in lines) == 2  # reported once, not on every poll
