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
    time_subjects,
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


def test_raw_timings_keep_every_call_of_every_subject(mlp: nn.Module) -> None:
    small = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    spec = LatencySpec(batch_sizes=[1, 4], warmup=1, repeats=7, threads=1, runtimes=["torch"])
    timed = time_subjects({"dense": LatencySubject(mlp), "small": LatencySubject(small)},
                          examples=random_examples(1, 8, 8), spec=spec)
    assert list(timed) == ["torch"] and list(timed["torch"]) == [1, 4]
    for samples in timed["torch"].values():
        assert {name: len(ms) for name, ms in samples.items()} == {"dense": 7, "small": 7}
        assert all(ms > 0 for calls in samples.values() for ms in calls)


def test_onnxruntime_needs_an_onnx_file(mlp: nn.Module) -> None:
    spec = LatencySpec(warmup=0, repeats=3, runtimes=["torch", "onnxruntime"])
    with pytest.raises(ValueError, match="ONNX"):
        measure_latency({"dense": LatencySubject(mlp)}, examples=random_examples(1, 8, 8),
                        spec=spec)


def test_a_call_that_times_itself_on_its_device_is_taken_at_its_word() -> None:
    """CUDA calls return their CUDA-event time: the host clock would add the launch and the
    wait. (The CUDA path itself runs in tests/gpu.)"""
    import time as clock

    from compression.measure.latency import DeviceMs, time_interleaved

    def device_timed() -> DeviceMs:
        clock.sleep(0.002)  # the host waits 2 ms; the device says it worked 0.5 ms
        return DeviceMs(0.5)

    samples = time_interleaved({"gpu": device_timed, "host": lambda: clock.sleep(0.001)},
                               warmup=0, repeats=5)
    assert samples["gpu"] == [0.5] * 5
    assert all(ms >= 1.0 for ms in samples["host"])
