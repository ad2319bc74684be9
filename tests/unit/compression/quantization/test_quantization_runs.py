"""Quantized runs through the runner: summary, measured runtime, safe round trip, pruning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compression.errors import InvalidSpecError, UnsupportedRecipeError
from compression.quantization import INT8_FILE, OnnxModel, int8_weights, settings_for
from compression.quantization.summary import verdict
from compression.runner import RunResult, execute_run
from compression.spec import RunConfig, expand, parse_spec
from compression.tasks import get_task

pytestmark = pytest.mark.unit
FAST_LATENCY = {"batch_sizes": [1, 8], "warmup": 1, "repeats": 3,
                "runtimes": ["torch", "onnxruntime"]}
PRUNE = {"prune": {"granularity": "unstructured", "scope": "global"},
         "schedule": {"kind": "one_shot", "final_sparsity": 0.8},
         "finetune": {"epochs": 1, "optimizer": {"lr": 1e-3}}}


def configs(*recipes: dict[str, Any]) -> list[RunConfig]:
    return expand(parse_spec({
        "name": "t", "task": "digits-mlp", "seeds": [0],
        "baseline": {"epochs": 3, "optimizer": {"lr": 3e-3}},
        "recipes": list(recipes), "measure": {"latency": FAST_LATENCY},
    }))


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return execute_run(configs()[0], workdir=tmp_path_factory.mktemp("base"),
                       emit=lambda *a: None)


def run(recipe: dict[str, Any], baseline: RunResult, workdir: Path) -> RunResult:
    return execute_run(configs({"name": "q", **recipe})[1], workdir=workdir,
                       emit=lambda *a: None, baseline_weights=baseline.weights)


def _round_trip_accuracy(path: Path) -> float:
    data = get_task("digits-mlp").load_data(0)
    predicted = OnnxModel(path)(data.x_test).argmax(1)
    return int((predicted == data.y_test).sum()) / len(data.y_test)


@pytest.mark.parametrize("mode", ["ptq_dynamic", "ptq_static"])
def test_ptq_run_is_measured_on_its_runtime_and_loads_back(
        mode: str, baseline: RunResult, tmp_path: Path) -> None:
    result = run({"quantize": {"mode": mode, "calibration_batches": 4}}, baseline, tmp_path)
    s = result.summary.to_json()
    q = s["quantization"]
    assert q["mode"] == mode and q["runtime"] == "onnxruntime" and q["backend"] == "x86"
    assert set(s["latency_ms"]) == {"onnxruntime"}
    assert set(s["speedup"]["onnxruntime"]) == {"1", "8"}
    assert set(q["fp32_latency_ms"]) == {"onnxruntime", "torch"}
    slower = [f"{rt}@{b}" for rt, r in q["speedup_vs_fp32"].items()
              for b, x in r.items() if x < 0.95]
    assert q["slower_than_fp32"] == sorted(slower)
    assert abs(s["accuracy"] - q["fp32_accuracy"]) < 0.02
    # What the file really quantizes, read back from it: every layer of the MLP.
    assert q["quantized_ops"] == ({"MatMul": 3} if mode == "ptq_dynamic" else {"Gemm": 3})
    assert q["weighted_layers"] == {"int8": 3, "total": 3} and q["float_nodes"] == {}
    assert q["int8_weight_fraction"] == 1.0
    assert all(w.startswith("int8 is SLOWER") for w in q["warnings"])  # only slowdowns
    assert ("calibration" in q) == (mode == "ptq_static")
    if mode == "ptq_static":
        assert q["calibration"]["method"] == "minmax" and q["calibration"]["batches"] == 4
    # The artifact is the int8 ONNX file, measured as saved, ≤ 30% of dense fp32.
    assert [p.name for p in result.artifacts] == [INT8_FILE]
    stored = result.artifacts[0]
    assert s["size_bytes"]["stored"] == stored.stat().st_size
    assert s["size_bytes"]["stored"] <= 0.30 * s["size_bytes"]["dense_fp32"]
    assert stored.read_bytes()[:2] != b"\x80\x04"  # protobuf, not a pickle
    assert _round_trip_accuracy(stored) == s["accuracy"]


def test_pruned_then_quantized_keeps_its_zeros(baseline: RunResult, tmp_path: Path) -> None:
    result = run({**PRUNE, "quantize": {"mode": "ptq_static"}}, baseline, tmp_path)
    s = result.summary.to_json()
    # Global scope keeps the classifier (2% of the weights) dense; the rest lost 80%.
    assert s["pruning"]["achieved"] == pytest.approx(0.8, abs=1e-3)
    assert s["sparsity"] == pytest.approx(0.8 * (1 - 1000 / 50200), abs=2e-3)
    assert s["quantization"]["int8_weight_zero_fraction"] >= 0.78
    weights = int8_weights(result.artifacts[0])
    zeros = sum(int((w == 0).sum()) for w in weights.values())
    assert zeros / sum(w.size for w in weights.values()) >= 0.78
    assert _round_trip_accuracy(result.artifacts[0]) == s["accuracy"]
    assert s["accuracy_drop"] < 0.05


def test_qat_fine_tunes_with_fake_quant_then_converts(baseline: RunResult,
                                                      tmp_path: Path) -> None:
    points: list[tuple[str, int, float]] = []
    config = configs({"name": "qat", "quantize": {"mode": "qat"},
                      "finetune": {"epochs": 1, "optimizer": {"lr": 1e-4}}})[1]
    result = execute_run(config, workdir=tmp_path, baseline_weights=baseline.weights,
                         emit=lambda k, st, v: points.append((k, st, v)))
    assert any(k == "train/loss" for k, _, _ in points)
    assert result.summary.to_json()["quantization"]["mode"] == "qat"
    assert result.summary.to_json()["accuracy_drop"] < 0.05


def test_unknown_backend_is_rejected_with_the_spec(baseline: RunResult, tmp_path: Path) -> None:
    with pytest.raises(InvalidSpecError) as info:
        run({"quantize": {"mode": "ptq_static", "backend": "arm"}}, baseline, tmp_path)
    assert [e.pointer for e in info.value.errors] == ["/recipes/0/quantize/backend"]


def test_settings_for_an_unknown_backend_is_a_user_error() -> None:
    with pytest.raises(UnsupportedRecipeError, match="backend"):
        settings_for("arm")


def test_verdict_says_when_int8_is_slower() -> None:
    assert "SLOWER" in verdict("onnxruntime", {"1": 0.8, "64": 1.4})
    assert "batch 1: 0.80x" in verdict("onnxruntime", {"1": 0.8, "64": 1.4})
    assert "faster" in verdict("torch", {"1": 1.2, "64": 2.0})
    # Within 5% of fp32 is not a slowdown this machine can tell from noise.
    assert "no faster" in verdict("torch", {"1": 0.99, "64": 1.3})
    assert "SLOWER" not in verdict("torch", {"1": 0.99, "64": 1.3})
