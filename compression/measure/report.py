"""The measured part of a run summary: weights, size, MACs, latency, speedup (with its
interval), hardware."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from compression.batches import ModelInputs, model_device, to_device
from compression.measure.hardware import hardware_fingerprint
from compression.measure.latency import (
    Examples,
    LatencySubject,
    _ort_call,
    _ort_session,
    _torch_call,
    percentile,
    time_interleaved,
    time_subjects,
)
from compression.measure.macs import count_macs
from compression.measure.onnx_export import export_onnx
from compression.measure.speedup import speed_summary
from compression.measure.stats import weight_stats
from compression.measure.storage import dense_fp32_bytes, save_state
from compression.spec import LatencySpec

WEIGHTS_FILE = "model.safetensors"
ONNX_FILE = "model.onnx"
# The ONNX exporter traces with a small batch; the batch dimension stays dynamic.
_EXPORT_BATCH = 2
INT8_NOT_ON_TORCH = ("the int8 model runs on ONNX Runtime only; the dense fp32 model's torch "
                     "latency is in quantization.fp32_latency_ms.torch")


@dataclass
class Measurement:
    """Summary keys measured for one model, and the files written for it."""

    summary: dict[str, object]
    artifacts: list[Path]


def _example(model: nn.Module, examples: Examples, batch: int) -> ModelInputs:
    return to_device(examples(batch), model_device(model))


def measure_model(
    model: nn.Module,
    *,
    dense_model: nn.Module,
    prunable: Sequence[str],
    examples: Examples,
    latency: LatencySpec,
    out_dir: Path,
) -> Measurement:
    """Measure ``model`` against ``dense_model`` and write its weights (and ONNX) to ``out_dir``.

    Pass the same object as both for a baseline run: it is timed once and its speedup is 1.0
    (without an interval). Otherwise each speedup has a 95% interval from its own timings
    (``speedup_interval``; see ``compression.measure.speedup``). Batch sizes are string keys
    in the summary (it is stored as JSON).

    Args:
        prunable: module names of the prunable layers (the same in both models).
        examples: batch size -> real inputs of that many samples (``Workload.example``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights_path = out_dir / WEIGHTS_FILE
    stored = save_state(model.state_dict(), weights_path)
    artifacts = [weights_path]
    stats = weight_stats(model, dense_model=dense_model, prunable=prunable)
    is_baseline = model is dense_model
    dense_macs, _ = count_macs(dense_model, _example(dense_model, examples, 1))
    _, effective_macs = count_macs(model, _example(model, examples, 1))

    with tempfile.TemporaryDirectory(prefix="squeezelab-measure-") as scratch:
        subjects = {"model": LatencySubject(model)}
        if not is_baseline:
            subjects["dense"] = LatencySubject(dense_model)
        if "onnxruntime" in latency.runtimes:
            onnx_path = export_onnx(
                model, _example(model, examples, _EXPORT_BATCH), out_dir / ONNX_FILE
            )
            artifacts.append(onnx_path)
            subjects["model"] = LatencySubject(model, onnx_path)
            if not is_baseline:
                dense_onnx = export_onnx(
                    dense_model,
                    _example(dense_model, examples, _EXPORT_BATCH),
                    Path(scratch) / "dense.onnx",
                )
                subjects["dense"] = LatencySubject(dense_model, dense_onnx)
        timed = time_subjects(subjects, examples=examples, spec=latency)

    def of(subject: str) -> dict[str, dict[int, list[float]]]:
        return {runtime: {b: samples[subject] for b, samples in per_batch.items()}
                for runtime, per_batch in timed.items()}

    summary: dict[str, object] = {
        "sparsity": stats.sparsity,
        "layer_sparsity": dict(stats.layer_sparsity),
        "params_total": stats.params_total,
        "params_nonzero": stats.params_nonzero,
        "size_bytes": {"dense_fp32": dense_fp32_bytes(dense_model), "stored": stored},
        "macs": {"dense": dense_macs, "effective": effective_macs},
        **speed_summary(of("model"), None if is_baseline else of("dense")),
        "hardware": hardware_fingerprint(latency.threads),
    }
    return Measurement(summary=summary, artifacts=artifacts)


def measure_int8_onnx(
    model: nn.Module,
    int8_path: Path,
    *,
    dense_model: nn.Module,
    prunable: Sequence[str],
    examples: Examples,
    latency: LatencySpec,
) -> tuple[Measurement, dict[str, dict[str, dict[str, float]]]]:
    """Measure an int8 ONNX model (run by ONNX Runtime) against the fp32 dense model.

    ``model`` is the fp32 model the int8 file was made from (sparsity and MACs are counted on
    it). The int8 model, the dense model in ONNX Runtime and (when ``latency.runtimes`` names
    torch) the dense model in torch are timed interleaved in this process. Returns the
    measurement, whose latency, speedup and speedup interval are keyed by "onnxruntime" (the
    only runtime the int8 file runs on; the speedup is over the dense model in ONNX Runtime),
    with ``not_run`` saying why torch has no entry when the spec asked for it; and the dense
    fp32 figures per runtime.
    """
    stats = weight_stats(model, dense_model=dense_model, prunable=prunable)
    dense_macs, _ = count_macs(dense_model, _example(dense_model, examples, 1))
    _, effective_macs = count_macs(model, _example(model, examples, 1))
    inputs = {b: examples(b) for b in latency.batch_sizes}
    timed: dict[str, dict[int, list[float]]] = {}
    threads_before = torch.get_num_threads()
    torch.set_num_threads(latency.threads)
    was_training = dense_model.training
    dense_model.eval()
    try:
        with tempfile.TemporaryDirectory(prefix="squeezelab-measure-") as scratch:
            dense_onnx = export_onnx(dense_model, _example(dense_model, examples,
                                                           _EXPORT_BATCH), Path(scratch) / "d.onnx")
            sessions = {"int8": _ort_session(int8_path, latency.threads),
                        "onnxruntime": _ort_session(dense_onnx, latency.threads)}
            for batch_size, batch in inputs.items():
                calls = {name: _ort_call(s, batch) for name, s in sessions.items()}
                if "torch" in latency.runtimes:
                    calls["torch"] = _torch_call(dense_model, batch)
                with torch.inference_mode():
                    samples = time_interleaved(calls, warmup=latency.warmup,
                                               repeats=latency.repeats)
                for name, ms in samples.items():
                    timed.setdefault(name, {})[batch_size] = ms
    finally:
        torch.set_num_threads(threads_before)
        dense_model.train(was_training)

    def figures(name: str) -> dict[str, dict[str, float]]:
        return {str(b): {"p50": percentile(ms, 50), "p90": percentile(ms, 90)}
                for b, ms in timed[name].items()}

    fp32 = {name: figures(name) for name in timed if name != "int8"}
    summary: dict[str, object] = {
        "sparsity": stats.sparsity,
        "layer_sparsity": dict(stats.layer_sparsity),
        "params_total": stats.params_total,
        "params_nonzero": stats.params_nonzero,
        "size_bytes": {"dense_fp32": dense_fp32_bytes(dense_model),
                       "stored": int8_path.stat().st_size},
        "macs": {"dense": dense_macs, "effective": effective_macs},
        # int8 in ONNX Runtime against fp32 in ONNX Runtime: the same runtime, as elsewhere.
        **speed_summary({"onnxruntime": timed["int8"]}, {"onnxruntime": timed["onnxruntime"]}),
        **({"not_run": {"torch": INT8_NOT_ON_TORCH}} if "torch" in latency.runtimes else {}),
        "hardware": hardware_fingerprint(latency.threads),
    }
    return Measurement(summary=summary, artifacts=[int8_path]), fp32
