"""The ``quantization`` block of a run summary: how the model was quantized, where it runs, and
how its measured latency compares with the fp32 dense model, slowdowns included."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from compression.quantization.onnx_int8 import int8_weights
from compression.quantization.quantize import QuantizedModel

Figures = Mapping[str, Mapping[str, float]]  # batch size -> {"p50": ms, "p90": ms}


def int8_zero_fraction(path: Path) -> float:
    """Fraction of zeros among the int8 weights of a quantized ONNX file."""
    weights = list(int8_weights(path).values())
    total = sum(w.size for w in weights)
    return sum(int((w == 0).sum()) for w in weights) / total if total else 0.0


def _ratios(fp32: Figures, int8: Figures) -> dict[str, float]:
    return {b: fp32[b]["p50"] / f["p50"] for b, f in int8.items() if b in fp32}


def verdict(runtime: str, ratios: Mapping[str, float]) -> str:
    slower = {b: x for b, x in ratios.items() if x < 1.0}
    if not slower:
        return f"int8 is faster than fp32 {runtime} at every measured batch size"
    listed = ", ".join(f"batch {b}: {x:.2f}x" for b, x in slower.items())
    return f"int8 is SLOWER than fp32 {runtime} on this machine ({listed})"


def quantization_summary(quantized: QuantizedModel, *, int8_latency: Figures,
                         fp32_latency: Mapping[str, Figures],
                         fp32_metrics: Mapping[str, float]) -> dict[str, object]:
    """The summary's ``quantization`` block.

    Args:
        int8_latency: the int8 model's figures (on ``quantized.runtime``).
        fp32_latency: the dense fp32 model's figures per runtime, measured in the same process.
        fp32_metrics: the task's metrics of the fp32 model the int8 one was made from.
    """
    vs_fp32 = {runtime: _ratios(figures, int8_latency)
               for runtime, figures in fp32_latency.items()}
    slower = sorted(f"{runtime}@{b}" for runtime, ratios in vs_fp32.items()
                    for b, x in ratios.items() if x < 1.0)
    return {
        **quantized.describe(),
        "fp32_metrics": dict(fp32_metrics),
        **({"fp32_accuracy": fp32_metrics["accuracy"]} if "accuracy" in fp32_metrics else {}),
        "int8_weight_zero_fraction": int8_zero_fraction(quantized.path),
        "fp32_latency_ms": {runtime: {b: dict(f) for b, f in figures.items()}
                            for runtime, figures in fp32_latency.items()},
        "speedup_vs_fp32": vs_fp32,
        "slower_than_fp32": slower,
        "verdict": {runtime: verdict(runtime, ratios) for runtime, ratios in vs_fp32.items()},
    }
