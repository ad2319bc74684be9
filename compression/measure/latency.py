"""The latency harness: pinned threads, warmup, then interleaved timed calls per subject.

Every subject (the dense model and its compressed candidates) is timed in the same process,
on the same fixed inputs, in alternating rounds: machine noise (another job, frequency
scaling) then hits all of them alike, which is what makes a speedup ratio meaningful.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnxruntime as ort
import torch
from torch import nn

from compression.batches import ModelInputs, call_model, onnx_feed, to_device
from compression.spec import LatencySpec

# Timed calls per subject in one round; a few in a row, so that switching models (and their
# cache footprints) does not dominate the timing of a small model.
CALLS_PER_ROUND = 5

Timings = dict[str, dict[str, dict[int, dict[str, float]]]]
# runtime -> batch size -> subject -> milliseconds of each timed call
Samples = dict[str, dict[int, dict[str, list[float]]]]
# Batch size -> model inputs of that many real samples (``Workload.example``).
Examples = Callable[[int], ModelInputs]


@dataclass(frozen=True)
class LatencySubject:
    """A model to time: ``module`` runs eagerly for "torch"; "onnxruntime" needs ``onnx_path``."""

    module: nn.Module
    onnx_path: Path | None = None


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least ``q`` % of samples ≤ it."""
    if not samples or not 0 < q <= 100:
        raise ValueError(f"need samples and 0 < q <= 100, got {len(samples)} samples, q={q}")
    ordered = sorted(samples)
    return ordered[math.ceil(q / 100 * len(ordered)) - 1]


class DeviceMs(float):
    """Milliseconds a call measured on its device (CUDA events): ``time_interleaved`` takes
    them instead of the host's clock, which would also count the launch and the wait."""


def _torch_call(module: nn.Module, batch: ModelInputs) -> Callable[[], object]:
    param = next(module.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    inputs = to_device(batch, device)
    if device.type != "cuda":
        return lambda: call_model(module, inputs)
    return cuda_timed_call(module, inputs)


def cuda_timed_call(module: nn.Module, inputs: ModelInputs) -> Callable[[], DeviceMs]:
    """A call of ``module`` on its CUDA device that returns its time from CUDA events: the
    device is idle when it starts (synchronised), and the end event is waited for."""

    def call() -> DeviceMs:
        start = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
        end = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
        torch.cuda.synchronize()
        start.record()
        call_model(module, inputs)
        end.record()
        end.synchronize()
        return DeviceMs(start.elapsed_time(end))

    return call


def _ort_session(path: Path, threads: int) -> Any:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _ort_call(session: Any, batch: ModelInputs) -> Callable[[], object]:
    feed = onnx_feed(batch)
    expected = {i.name for i in session.get_inputs()}
    feed = {name: value for name, value in feed.items() if name in expected}
    return lambda: session.run(None, feed)


def time_interleaved(
    calls: Mapping[str, Callable[[], object]], *, warmup: int, repeats: int
) -> dict[str, list[float]]:
    """Milliseconds of ``repeats`` calls of each callable, alternating in rounds.

    Each subject first gets ``warmup`` untimed calls. Rounds then time ``CALLS_PER_ROUND``
    calls of each subject in turn; the first subject of a round rotates so that none always
    runs right after another.
    """
    for call in calls.values():
        for _ in range(warmup):
            call()
    names = list(calls)
    samples: dict[str, list[float]] = {name: [] for name in names}
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # a collection inside a timed call is noise that belongs to neither model
    try:
        for start in range(0, repeats, CALLS_PER_ROUND):
            count = min(CALLS_PER_ROUND, repeats - start)
            shift = (start // CALLS_PER_ROUND) % len(names)
            for name in names[shift:] + names[:shift]:
                call, timed = calls[name], samples[name]
                for _ in range(count):
                    began = time.perf_counter_ns()
                    out = call()
                    host_ms = (time.perf_counter_ns() - began) / 1e6
                    timed.append(float(out) if isinstance(out, DeviceMs) else host_ms)
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples


def time_subjects(
    models: Mapping[str, LatencySubject], *, examples: Examples, spec: LatencySpec
) -> Samples:
    """Time every subject interleaved, per runtime and batch size: the raw milliseconds.

    Returns ``{runtime: {batch_size: {subject: [ms, ...]}}}`` with ``spec.repeats`` calls per
    subject, in the order ``time_interleaved`` took them. Inputs are ``examples(batch_size)``:
    real samples of the task, the same for every subject. torch runs on ``spec.threads``
    threads (restored afterwards) under ``inference_mode``, modules in eval mode (restored);
    onnxruntime sessions get the same intra-op thread count and run sequentially.
    """
    if "onnxruntime" in spec.runtimes:
        missing = [name for name, s in models.items() if s.onnx_path is None]
        if missing:
            raise ValueError(f"onnxruntime latency needs an ONNX file for {missing}")
    inputs = {b: examples(b) for b in spec.batch_sizes}
    results: Samples = {}
    training = {name: s.module.training for name, s in models.items()}
    threads_before = torch.get_num_threads()
    torch.set_num_threads(spec.threads)
    try:
        for subject in models.values():
            subject.module.eval()
        for runtime in spec.runtimes:
            sessions = {
                name: _ort_session(s.onnx_path, spec.threads)
                for name, s in models.items()
                if runtime == "onnxruntime" and s.onnx_path is not None
            }
            for batch_size, batch in inputs.items():
                if runtime == "onnxruntime":
                    calls = {name: _ort_call(sessions[name], batch) for name in models}
                else:
                    calls = {name: _torch_call(s.module, batch) for name, s in models.items()}
                with torch.inference_mode():
                    samples = time_interleaved(calls, warmup=spec.warmup, repeats=spec.repeats)
                results.setdefault(runtime, {})[batch_size] = samples
    finally:
        torch.set_num_threads(threads_before)
        for name, subject in models.items():
            subject.module.train(training[name])
    return results


def measure_latency(
    models: Mapping[str, LatencySubject], *, examples: Examples, spec: LatencySpec
) -> Timings:
    """Measure p50/p90 latency (ms) of every subject, per runtime and batch size.

    Returns ``{subject: {runtime: {batch_size: {"p50": ms, "p90": ms}}}}``; the timing is
    ``time_subjects``'s.
    """
    results: Timings = {name: {} for name in models}
    for runtime, per_batch in time_subjects(models, examples=examples, spec=spec).items():
        for batch_size, samples in per_batch.items():
            for name, timed in samples.items():
                results[name].setdefault(runtime, {})[batch_size] = {
                    "p50": percentile(timed, 50),
                    "p90": percentile(timed, 90),
                }
    return results
