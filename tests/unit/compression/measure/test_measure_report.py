"""measure_model and measure_int8_onnx end to end: every summary key, measured, and the
artifact files."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from measurehelpers import random_examples
from torch import nn

from compression.measure.onnx_export import export_onnx
from compression.measure.report import INT8_NOT_ON_TORCH, measure_int8_onnx, measure_model
from compression.measure.storage import load_state
from compression.quantization.onnx_int8 import Int8Settings, quantize_onnx_dynamic
from compression.spec import LatencySpec, RunSummary

pytestmark = pytest.mark.unit

PRUNABLE = ["1", "3", "5"]
KEYS = {"sparsity", "layer_sparsity", "params_total", "params_nonzero", "size_bytes", "macs",
        "latency_ms", "speedup", "speedup_interval", "hardware"}
DENSE_PARAMS = 64 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10


def _spec(*runtimes: str) -> LatencySpec:
    return LatencySpec.model_validate(
        {"batch_sizes": [1, 8], "warmup": 2, "repeats": 5, "threads": 1, "runtimes": runtimes}
    )


def _figures(summary: dict[str, object], key: str) -> dict[str, Any]:
    value = summary[key]
    assert isinstance(value, dict)
    return value


def test_compressed_model(tmp_path: Path, mlp: nn.Module, sparse_mlp: nn.Module) -> None:
    out = tmp_path / "run"
    result = measure_model(
        sparse_mlp, dense_model=mlp, prunable=PRUNABLE, examples=random_examples(1, 8, 8),
        latency=_spec("torch", "onnxruntime"), out_dir=out,
    )
    summary = result.summary
    assert set(summary) == KEYS
    assert result.artifacts == [out / "model.safetensors", out / "model.onnx"]
    assert sorted(p.name for p in out.iterdir()) == ["model.onnx", "model.safetensors"]
    assert summary["sparsity"] == pytest.approx(0.9, abs=1e-4)
    assert summary["layer_sparsity"] == pytest.approx(dict.fromkeys(PRUNABLE, 0.9), abs=1e-3)
    assert summary["params_total"] == DENSE_PARAMS
    assert summary["size_bytes"] == {
        "dense_fp32": 4 * DENSE_PARAMS,
        "stored": (out / "model.safetensors").stat().st_size,
    }
    assert _figures(summary, "size_bytes")["stored"] <= DENSE_PARAMS
    assert summary["macs"] == {"dense": 50200, "effective": 1920 + 3000 + 100}
    latency, speedup = _figures(summary, "latency_ms"), _figures(summary, "speedup")
    interval = _figures(summary, "speedup_interval")
    assert set(latency) == set(speedup) == set(interval) == {"torch", "onnxruntime"}
    for runtime in latency:
        assert set(latency[runtime]) == set(speedup[runtime]) == {"1", "8"}
        for batch, figures in latency[runtime].items():
            assert isinstance(figures, dict) and 0 < figures["p50"] <= figures["p90"]
            ratio = speedup[runtime][batch]
            assert isinstance(ratio, float) and math.isfinite(ratio) and ratio > 0
            lo, hi, noise = (interval[runtime][batch][k] for k in ("lo", "hi", "noise"))
            assert 0 < lo <= hi and noise == (lo <= 1.0 <= hi)
    RunSummary.model_validate(summary)
    state = load_state(out / "model.safetensors")
    assert all(torch.equal(state[k], v) for k, v in sparse_mlp.state_dict().items())
    assert json.loads(json.dumps(summary)) == summary


def test_baseline_is_measured_once(tmp_path: Path, mlp: nn.Module) -> None:
    result = measure_model(
        mlp, dense_model=mlp, prunable=PRUNABLE, examples=random_examples(1, 8, 8),
        latency=_spec("torch"), out_dir=tmp_path,
    )
    summary = result.summary
    assert result.artifacts == [tmp_path / "model.safetensors"]
    assert not (tmp_path / "model.onnx").exists()
    assert summary["sparsity"] == 0.0
    assert summary["params_nonzero"] == summary["params_total"] == DENSE_PARAMS
    assert summary["macs"] == {"dense": 50200, "effective": 50200}
    assert summary["speedup"] == {"torch": {"1": 1.0, "8": 1.0}}
    assert "speedup_interval" not in summary  # 1.0 by definition: nothing was compared
    assert set(_figures(summary, "latency_ms")["torch"]) == {"1", "8"}
    hardware = _figures(summary, "hardware")
    assert hardware["threads"] == 1


@pytest.mark.parametrize(("runtimes", "not_run"), [
    (("torch", "onnxruntime"), {"torch": INT8_NOT_ON_TORCH}), (("onnxruntime",), None)])
def test_int8_is_timed_against_the_dense_model_in_its_own_runtime(
        tmp_path: Path, mlp: nn.Module, sparse_mlp: nn.Module, runtimes: tuple[str, ...],
        not_run: dict[str, str] | None) -> None:
    fp32 = export_onnx(sparse_mlp, torch.randn(2, 1, 8, 8), tmp_path / "fp32.onnx")
    int8 = tmp_path / "int8.onnx"
    quantize_onnx_dynamic(fp32, int8, Int8Settings())
    measured, fp32_latency = measure_int8_onnx(
        sparse_mlp, int8, dense_model=mlp, prunable=PRUNABLE, examples=random_examples(1, 8, 8),
        latency=_spec(*runtimes))
    summary = measured.summary
    assert measured.artifacts == [int8]
    assert set(fp32_latency) == set(runtimes)  # the dense model, in every runtime asked for
    latency, speedup = _figures(summary, "latency_ms"), _figures(summary, "speedup")
    assert set(latency) == set(speedup) == set(_figures(summary, "speedup_interval")) == {
        "onnxruntime"}
    # speedup.onnxruntime: dense fp32 in ONNX Runtime over int8 in ONNX Runtime.
    for batch, figures in latency["onnxruntime"].items():
        assert speedup["onnxruntime"][batch] == (
            fp32_latency["onnxruntime"][batch]["p50"] / figures["p50"])
    assert summary.get("not_run") == not_run
    typed = RunSummary.model_validate(summary)
    assert typed.not_run == not_run
    assert typed.speedup_interval is not None and set(typed.speedup_interval["onnxruntime"]) == {
        "1", "8"}
