"""The GPU path, on a machine with CUDA (skipped elsewhere): runs train and measure on the
device, with mixed precision, CUDA-event latency and 2:4 kernels where the GPU has them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from compression.device import supports_semi_structured
from compression.measure.semistructured import measure_semi_structured, semi_structured_copy
from compression.pruning import nm_masks
from compression.runner import RunResult, execute_run
from compression.spec import expand, parse_spec

pytestmark = [pytest.mark.gpu, pytest.mark.integration]
LATENCY = {"batch_sizes": [1, 64], "warmup": 5, "repeats": 30, "runtimes": ["torch"]}


def sweep(*recipes: dict[str, Any]) -> list[Any]:
    return expand(parse_spec({"name": "gpu", "task": "digits-mlp", "device": "cuda",
                              "seeds": [0], "baseline": {"epochs": 3, "optimizer": {"lr": 3e-3}},
                              "recipes": list(recipes), "measure": {"latency": LATENCY}}))


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return execute_run(sweep()[0], workdir=tmp_path_factory.mktemp("b"), emit=lambda *a: None)


def test_a_baseline_trains_on_the_gpu_with_mixed_precision(baseline: RunResult) -> None:
    s = baseline.summary
    assert s.accuracy is not None and s.accuracy > 0.85
    assert s.hardware is not None
    assert s.latency_ms is not None and set(s.latency_ms["torch"]) == {"1", "64"}


def test_a_2to4_run_times_the_sparse_kernels(baseline: RunResult, tmp_path: Path) -> None:
    recipe = {"name": "nm", "prune": {"granularity": "nm", "n": 2, "m": 4},
              "finetune": {"epochs": 1}}
    result = execute_run(sweep(recipe)[1], workdir=tmp_path,
                         baseline_weights=baseline.weights, emit=lambda *a: None)
    block = result.summary.model_extra["semi_structured"]  # type: ignore[index]
    if not supports_semi_structured(torch.device("cuda")):
        assert "no 2:4 sparse tensor cores" in block["note"]
        return
    assert block["layers"], block  # digits-mlp's 300x64 and 100x300 layers qualify or say why
    assert set(block["speedup_vs_dense"]) == {"1", "64"}


@pytest.mark.skipif(not torch.cuda.is_available()
                    or not supports_semi_structured(torch.device("cuda")),
                    reason="needs 2:4 sparse tensor cores")
def test_semi_structured_layers_compute_what_the_dense_ones_do() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1024, 4096), nn.ReLU(), nn.Linear(4096, 1024)).cuda()
    layers = {"0": model[0], "2": model[2]}
    masks, _ = nm_masks(layers, 2, 4)
    with torch.no_grad():
        for name, mask in masks.items():
            layers[name].weight.mul_(mask.to(layers[name].weight.device))
    sparse, converted, skipped = semi_structured_copy(model, torch.float16)
    assert converted == ["0", "2"] and not skipped
    x = torch.randn(128, 1024, device="cuda", dtype=torch.float16)
    with torch.inference_mode():
        torch.testing.assert_close(sparse(x), model.half()(x), rtol=2e-2, atol=2e-2)
    block = measure_semi_structured(model.float(), examples=lambda b: torch.randn(b, 1024),
                                    batch_sizes=[128, 2048], dtype=torch.float16)
    assert block["speedup_vs_dense"]["2048"] > 1.0, block
