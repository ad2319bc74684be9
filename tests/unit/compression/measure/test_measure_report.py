"""measure_model end to end: every summary key, measured, and the artifact files."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from measurehelpers import random_examples
from torch import nn

from compression.measure.report import measure_model
from compression.measure.storage import load_state
from compression.spec import LatencySpec

pytestmark = pytest.mark.unit

PRUNABLE = ["1", "3", "5"]
KEYS = {"sparsity", "layer_sparsity", "params_total", "params_nonzero", "size_bytes", "macs",
        "latency_ms", "speedup", "hardware"}
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
    assert set(latency) == set(speedup) == {"torch", "onnxruntime"}
    for runtime in latency:
        assert set(latency[runtime]) == set(speedup[runtime]) == {"1", "8"}
        for batch, figures in latency[runtime].items():
            assert isinstance(figures, dict) and 0 < figures["p50"] <= figures["p90"]
            ratio = speedup[runtime][batch]
            assert isinstance(ratio, float) and math.isfinite(ratio) and ratio > 0
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
    assert set(_figures(summary, "latency_ms")["torch"]) == {"1", "8"}
    hardware = _figures(summary, "hardware")
    assert hardware["threads"] == 1
