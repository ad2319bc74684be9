"""``squeezelab upload``, ``submit --weights`` and ``tasks --check``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from clirunner import Cli
from typer.testing import CliRunner

from client import Client
from squeezelab.cli import app

pytestmark = pytest.mark.integration


def test_upload_prints_the_ref_alone_on_stdout(cli: Cli, tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"some weights")
    result = cli("upload", str(weights))
    assert result.exit_code == 0, result.output
    sha = hashlib.sha256(b"some weights").hexdigest()
    assert result.stdout.strip() == f"upload:{sha}"
    assert "model.safetensors" in result.stderr


def test_submit_with_weights_uploads_them_and_skips_baseline_training(
        cli: Cli, admin: Client, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"name": "pre", "task": "digits-mlp",
                                    "baseline": {"epochs": 5, "batch_size": 32}}))
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"pretend state dict")
    result = cli("submit", str(spec), "--weights", str(weights))
    assert result.exit_code == 0, result.output
    sweep_id = int(result.stdout.strip())
    (run,) = list(admin.iter_runs(sweep_id=sweep_id))
    baseline = run.config["baseline"]
    assert baseline["weights"].startswith("upload:") and baseline["epochs"] == 0
    assert baseline["batch_size"] == 32  # the rest of the spec's baseline is kept
    assert [u.ref for u in admin.list_uploads()] == [baseline["weights"]]


def test_tasks_check_reports_each_task_and_fails_on_a_broken_one(tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["tasks"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "digits-mlp" in listed.stdout
    checked = runner.invoke(app, ["tasks", "--check"], env={"COLUMNS": "200"})
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.count("✓") == 3 and "accuracy" in checked.stdout
    broken = tmp_path / "broken.py"
    broken.write_text("def model():\n    raise RuntimeError('weights missing on this box')\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"name": "b", "task": {
        "name": "broken", "model": {"python": f"{broken}:model"},
        "data": {"python": "compression.tasks.datasets:mnist1d"}}}))
    failed = runner.invoke(app, ["tasks", "--check", "--spec", str(spec)],
                           env={"COLUMNS": "250"})
    assert failed.exit_code == 1
    assert "✗" in failed.stdout and "weights missing on this box" in failed.stdout
