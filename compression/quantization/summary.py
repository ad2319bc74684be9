"""The ``quantization`` block of a run summary: how the model was quantized, what the int8 file
really quantizes (read back from it), where it runs, and how its measured latency compares
with the fp32 dense model, slowdowns included; ``warnings`` says in plain words when little was
quantized or int8 is slower, for the CLI and the dashboard to show."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from compression.quantization.onnx_int8 import int8_weights
from compression.quantization.quantize import QuantizedModel
from compression.quantization.report import Int8Report, inspect_int8

Figures = Mapping[str, Mapping[str, float]]  # batch size -> {"p50": ms, "p90": ms}
# Node lists longer than this are cut (a summary is stored per run); the counts stay exact.
MAX_LISTED = 200
# Below this share of the weight bytes in int8, the summary warns that little was quantized.
LOW_INT8_FRACTION = 0.5
# A cross-runtime ratio has no interval of its own; on these shared machines a copy timed
# against itself strays about 5% (docs/benchmarks.md, "Speedup noise"), so only a ratio below
# this counts as int8 being slower.
SLOWER_BELOW = 0.95


def int8_zero_fraction(path: Path) -> float:
    """Fraction of zeros among the int8 weights of a quantized ONNX file."""
    weights = list(int8_weights(path).values())
    total = sum(w.size for w in weights)
    return sum(int((w == 0).sum()) for w in weights) / total if total else 0.0


def _ratios(fp32: Figures, int8: Figures) -> dict[str, float]:
    return {b: fp32[b]["p50"] / f["p50"] for b, f in int8.items() if b in fp32}


def verdict(runtime: str, ratios: Mapping[str, float]) -> str:
    slower = {b: x for b, x in ratios.items() if x < SLOWER_BELOW}
    if slower:
        listed = ", ".join(f"batch {b}: {x:.2f}x" for b, x in slower.items())
        return f"int8 is SLOWER than fp32 {runtime} on this machine ({listed})"
    even = {b: x for b, x in ratios.items() if x < 1 / SLOWER_BELOW}
    if even:
        listed = ", ".join(f"batch {b}: {x:.2f}x" for b, x in even.items())
        return f"int8 is no faster than fp32 {runtime} within this machine's noise ({listed})"
    return f"int8 is faster than fp32 {runtime} at every measured batch size"


def float_nodes(quantized: QuantizedModel, report: Int8Report) -> dict[str, str]:
    """Nodes of quantizable op types left in float, with the reason."""
    kept = dict(quantized.made.plan.kept_float)
    why = ("ptq_dynamic quantizes MatMul (Linear) layers only" if quantized.mode == "ptq_dynamic"
           else "not quantized by ONNX Runtime's quantizer")
    for name in report.float_layers:
        kept.setdefault(name, why)
    return kept


def coverage_warnings(mode: str, report: Int8Report) -> list[str]:
    """Plain-words warnings when the int8 file left much in fp32: conv layers in dynamic mode
    or anything else under ``LOW_INT8_FRACTION`` of the weight bytes."""
    total, done = report.weighted_layers, len(report.int8_layers)
    if not report.ops:
        return [f"{mode} quantized nothing: the int8 file computes in fp32"]
    head = (f"{mode} quantized {done} of {total} weighted layers "
            f"({report.int8_weight_fraction:.1%} of weight bytes)")
    if report.int8_weight_fraction >= LOW_INT8_FRACTION:
        return []
    if mode == "ptq_dynamic" and report.float_convs:
        return [f"{head}: convolutions stay fp32 in dynamic mode; use ptq_static"]
    if done == total:
        return [f"{head}: the rest are embedding tables or other weights int8 leaves in fp32"]
    return [f"{head}: the rest stay fp32 (see quantization.float_nodes)"]


def _listed(names: list[str]) -> list[str]:
    cut = len(names) - MAX_LISTED
    return names[:MAX_LISTED] + ([f"... and {cut} more"] if cut > 0 else [])


def contents(quantized: QuantizedModel, *, slower: Sequence[str] = ()) -> dict[str, object]:
    """What the saved int8 file quantizes: op counts, node names, weight coverage, and the
    warnings (those on coverage, then ``slower``: the verdicts where int8 lost to fp32)."""
    report = inspect_int8(quantized.path)
    kept = float_nodes(quantized, report)
    shown = dict(list(kept.items())[:MAX_LISTED])
    return {
        "quantized_ops": report.ops,
        "quantized_nodes": _listed(report.nodes),
        "weighted_layers": {"int8": len(report.int8_layers), "total": report.weighted_layers},
        "int8_weight_fraction": report.int8_weight_fraction,
        "float_nodes": shown,
        "warnings": [*coverage_warnings(quantized.mode, report), *slower],
    }


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
                    for b, x in ratios.items() if x < SLOWER_BELOW)
    verdicts = {runtime: verdict(runtime, ratios) for runtime, ratios in vs_fp32.items()}
    lost = [verdicts[runtime] for runtime, ratios in vs_fp32.items()
            if any(x < SLOWER_BELOW for x in ratios.values())]
    return {
        **quantized.describe(),
        **contents(quantized, slower=lost),
        "fp32_metrics": dict(fp32_metrics),
        **({"fp32_accuracy": fp32_metrics["accuracy"]} if "accuracy" in fp32_metrics else {}),
        "int8_weight_zero_fraction": int8_zero_fraction(quantized.path),
        "fp32_latency_ms": {runtime: {b: dict(f) for b, f in figures.items()}
                            for runtime, figures in fp32_latency.items()},
        "speedup_vs_fp32": vs_fp32,
        "slower_than_fp32": slower,
        "verdict": verdicts,
    }
