"""A finished model measured and summarised: the primary metric and every metric, weights,
size, MACs and latency, and for int8 recipes the quantized file as saved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from torch import nn

from compression.errors import InvalidResultError
from compression.measure import engine_versions, measure_model
from compression.measure.report import WEIGHTS_FILE, measure_int8_onnx
from compression.modelconfig import save_config
from compression.pruning import prunable_layers
from compression.quantization import quantize_model
from compression.quantization.summary import quantization_summary
from compression.spec import PrimaryMetric, QuantizeSpec, RunConfig, RunSummary, scalar
from compression.workload import Workload

# The summary and the files written for it.
Finished = tuple[RunSummary, list[Path]]


def headline(work: Workload, metrics: dict[str, float],
              baseline: dict[str, float]) -> dict[str, Any]:
    """The summary's metric fields: the primary metric, every metric, and accuracy's own
    three fields when accuracy is one of the task's metrics."""
    name = work.primary
    fields: dict[str, Any] = {
        "metric": PrimaryMetric.of(name, work.goal, metrics[name], baseline[name]),
        "metrics": metrics, "baseline_metrics": baseline,
        "metric_goals": {m: work.goals[m] for m in metrics}}
    if "accuracy" in metrics and "accuracy" in baseline:
        fields.update(accuracy=metrics["accuracy"], baseline_accuracy=baseline["accuracy"],
                      accuracy_drop=baseline["accuracy"] - metrics["accuracy"])
    return fields


def summarize(**fields: Any) -> RunSummary:
    """The typed summary, with the versions that produced it; figures that are not finite (a
    diverged model's perplexity, a NaN loss) fail the run with the reason, as no other
    attempt would report better."""
    try:
        return RunSummary(**fields, versions=engine_versions())
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'summary'}: {e['msg']}"
                          for e in exc.errors()[:5])
        raise InvalidResultError(f"the run's figures cannot be reported ({where}): did "
                                 "training diverge?") from None


def finish(work: Workload, model: nn.Module, dense: nn.Module, metrics: dict[str, float],
            baseline_metrics: dict[str, float], workdir: Path, config: RunConfig,
            extra: dict[str, Any]) -> Finished:
    measured = measure_model(model, dense_model=dense, prunable=list(prunable_layers(dense)),
                             examples=work.example, latency=config.measure.latency,
                             out_dir=workdir)
    summary = summarize(**headline(work, metrics, baseline_metrics), **measured.summary, **extra)
    # A Hugging Face model's config.json beside its weights: from_pretrained(workdir) works.
    config_file = save_config(model, workdir, weights=workdir / WEIGHTS_FILE)
    return summary, measured.artifacts + ([config_file] if config_file else [])


def finish_quantized(work: Workload, model: nn.Module, dense: nn.Module,
                      spec: QuantizeSpec, baseline_metrics: dict[str, float], workdir: Path,
                      config: RunConfig, extra: dict[str, Any]) -> Finished:
    """Quantize the (pruned, fine-tuned) fp32 model, then measure the int8 file as saved."""
    recipe = config.recipe
    batch_size = (recipe.finetune if recipe and recipe.finetune else config.baseline).batch_size
    calibration = work.calibration(count=scalar(spec.calibration_batches),
                                   batch_size=batch_size, seed=config.seed)
    quantized = quantize_model(model, spec, example=work.example(2), calibration=calibration,
                               out_dir=workdir)
    # The metrics of the file as saved, loaded back by ONNX Runtime.
    metrics = work.evaluate_with(quantized.load())
    measured, fp32_latency = measure_int8_onnx(
        model, quantized.path, dense_model=dense, prunable=list(prunable_layers(dense)),
        examples=work.example, latency=config.measure.latency)
    int8_latency = measured.summary["latency_ms"]
    extra["quantization"] = quantization_summary(
        quantized, int8_latency=int8_latency["onnxruntime"],  # type: ignore[index]
        fp32_latency=fp32_latency, fp32_metrics=work.evaluate(model))
    summary = summarize(**headline(work, metrics, baseline_metrics), **measured.summary, **extra)
    return summary, measured.artifacts
