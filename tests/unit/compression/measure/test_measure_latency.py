"""The latency harness: percentiles, interleaving, thread pinning, result shape."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from measurehelpers import random_examples
from torch import nn

from compression.measure.latency import (
    CALLS_PER_ROUND,
    LatencySubject,
    measure_latency,
    percentile,
    time_interleaved,
)
from compression.measure.onnx_export import export_onnx
from compression.spec import LatencySpec

pytestmark = pytest.mark.unit


def test_nearest_rank_percentile() -> None:
    samples = [float(v) for v in (10, 1, 9, 2, 8, 3, 7, 4, 6, 5)]
    assert percentile(samples, 50) == 5.0
    assert percentile(samples, 90) == 9.0
    assert percentile(samples, 100) == 10.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([3.0, 1.0, 2.0], 90) == 3.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_subjects_are_timed_in_alternating_rounds() -> None:
    log: list[str] = []
    calls = {name: (lambda name=name: log.append(name)) for name in ("dense", "pruned")}
    samples = time_interleaved(calls, warmup=1, repeats=12)
    assert CALLS_PER_ROUND == 5
    assert {name: len(timed) for name, timed in samples.items()} == {"dense": 12, "pruned": 12}
    expected = ["dense", "pruned"]  # warmup
    expected += ["dense"] * 5 + ["pruned"] * 5  # round 1
    expected += ["pruned"] * 5 + ["dense"] * 5  # round 2: the other one goes first
    expected += ["dense"] * 2 + ["pruned"] * 2  # the remainder
    assert log == expected
    assert all(ms >= 0 for timed in samples.values() for ms in timed)


class _ThreadProbe(nn.Module):
    """Records the torch thread count and grad mode seen by each forward call."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 2)
        self.seen: set[tuple[int, bool, bool]] = set()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.add((torch.get_num_threads(), torch.is_inference_mode_enabled(), self.training))
        out: torch.Tensor = self.linear(x)
        return out


def test_threads_pinned_then_restored() -> None:
    probe = _ThreadProbe()
    before = torch.get_num_threads()
    wanted = 2 if before == 1 else 1
    spec = LatencySpec(batch_sizes=[1, 3], warmup=1, repeats=3, threads=wanted, runtimes=["torch"])
    measure_latency({"probe": LatencySubject(probe)}, examples=random_examples(4), spec=spec)
    assert probe.seen == {(wanted, True, False)}  # pinned, inference mode, eval
    assert torch.get_num_threads() == before
    assert probe.training  # the caller's mode is restored


def test_measures_every_subject_runtime_and_batch(tmp_path: Path, mlp: nn.Module) -> None:
    small = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    subjects = {}
    for name, model in (("dense", mlp), ("small", small)):
        onnx = export_onnx(model, torch.randn(2, 1, 8, 8), tmp_path / f"{name}.onnx")
        subjects[name] = LatencySubject(model, onnx)
    spec = LatencySpec(batch_sizes=[1, 16], warmup=2, repeats=5, threads=1)
    result = measure_latency(subjects, examples=random_examples(1, 8, 8), spec=spec)
    assert set(result) == {"dense", "small"}
    for per_runtime in result.values():
        assert set(per_runtime) == {"torch", "onnxruntime"}
        for per_batch in per_runtime.values():
            assert set(per_batch) == {1, 16}
            for figures in per_batch.values():
                assert set(figures) == {"p50", "p90"}
                assert 0 < figures["p50"] <= figures["p90"] < 1000


def test_onnxruntime_needs_an_onnx_file(mlp: nn.Module) -> None:
    spec = LatencySpec(warmup=0, repeats=3, runtimes=["torch", "onnxruntime"])
    with pytest.raises(ValueError, match="ONNX"):
        measure_latency({"dense": LatencySubject(mlp)}, examples=random_examples(1, 8, 8),
                        spec=spec)
