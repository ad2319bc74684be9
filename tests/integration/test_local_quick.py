"""examples/quick.yaml end to end through the CLI: every run succeeds, every summary key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from squeezelab.cli import app

pytestmark = [pytest.mark.integration, pytest.mark.slow]
QUICK = Path(__file__).parents[2] / "examples" / "quick.yaml"
SUMMARY_KEYS = {"accuracy", "baseline_accuracy", "accuracy_drop", "sparsity", "layer_sparsity",
                "params_total", "params_nonzero", "size_bytes", "macs", "latency_ms", "speedup",
                "hardware"}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("quick")
    out = tmp / "results.json"
    result = CliRunner().invoke(app, ["local", str(QUICK), "--out", str(out),
                                      "--workdir", str(tmp / "artifacts")],
                               env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "results" in result.output and "speedup" in result.output
    assert "agp@seed0" in result.output and "two-of-four@seed0" in result.output
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def _run(results: dict[str, Any], prefix: str) -> dict[str, Any]:
    return next(r for r in results["runs"] if r["name"].startswith(prefix))


def test_every_run_succeeds_with_every_summary_key(results: dict[str, Any]) -> None:
    assert results["sweep"]["name"] == "quick"
    assert len(results["runs"]) == 5
    for run in results["runs"]:
        assert run["status"] == "succeeded", run["error"]
        assert set(run) >= {"name", "kind", "config", "status", "summary", "error", "curves"}
        s = run["summary"]
        assert set(s) >= SUMMARY_KEYS, SUMMARY_KEYS - set(s)
        assert 0.0 <= s["accuracy"] <= 1.0
        assert s["accuracy_drop"] == pytest.approx(s["baseline_accuracy"] - s["accuracy"])
        assert set(s["layer_sparsity"]) == {"fc1", "fc2", "classifier"}
        assert 0 < s["params_nonzero"] <= s["params_total"]
        assert s["size_bytes"]["stored"] > 0 and s["size_bytes"]["dense_fp32"] > 0
        assert 0 < s["macs"]["effective"] <= s["macs"]["dense"]
        for runtime in ("torch", "onnxruntime"):
            for batch in ("1", "64"):
                lat = s["latency_ms"][runtime][batch]
                assert 0 < lat["p50"] <= lat["p90"]
                assert s["speedup"][runtime][batch] > 0
        assert {"cpu", "threads", "torch", "onnxruntime"} <= set(s["hardware"])
        for path in run["artifacts"]:
            assert Path(path).is_file()


def test_baseline_is_dense_and_accurate(results: dict[str, Any]) -> None:
    s = _run(results, "baseline")["summary"]
    assert s["accuracy"] >= 0.93
    assert s["sparsity"] == 0.0 and s["accuracy_drop"] == 0.0
    assert s["speedup"]["torch"]["64"] == 1.0


def test_agp_reaches_its_target_and_shrinks_the_file(results: dict[str, Any]) -> None:
    run = _run(results, "agp")
    s = run["summary"]
    # Global scope: the classifier stays dense, the other layers lose 90% together.
    assert s["pruning"]["achieved"] == pytest.approx(0.9, abs=0.005)
    assert s["layer_sparsity"]["classifier"] == 0.0
    assert 0.85 < s["sparsity"] < 0.9
    assert s["size_bytes"]["stored"] <= 0.25 * s["size_bytes"]["dense_fp32"]
    assert s["accuracy_drop"] < 0.05
    targets = [v for _, v in run["curves"]["sparsity/target"]]
    assert targets == sorted(targets) and targets[-1] == pytest.approx(0.9)
    assert {"train/loss", "val/accuracy", "sparsity/actual", "lr", "epoch"} <= set(run["curves"])


def test_channel_pruning_really_shrinks_the_model(results: dict[str, Any]) -> None:
    base = _run(results, "baseline")["summary"]
    s = _run(results, "channels")["summary"]
    assert s["params_total"] < 0.6 * base["params_total"]
    assert s["macs"]["dense"] == base["macs"]["dense"]
    assert s["macs"]["effective"] < 0.6 * base["macs"]["dense"]


def test_two_of_four_and_sensitivity(results: dict[str, Any]) -> None:
    nm = _run(results, "two-of-four")["summary"]
    assert nm["sparsity"] == pytest.approx(0.5, abs=0.01)
    table = _run(results, "sensitivity")["summary"]["sensitivity"]
    assert table["levels"] == [0.5, 0.9]
    assert set(table["layers"]) == {"fc1", "fc2", "classifier"}
