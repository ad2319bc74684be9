"""Static int8 accuracy against fp32 by calibration method, and what each mode quantizes.

For a small BERT (generated token data, padded attention mask), a ViT (digits as 3x32x32), the
digits CNN and the digits MLP: train the fp32 model briefly, export it to ONNX, make static
int8 with each calibration method (minmax, percentile 99.999, entropy) and report test
accuracy, argmax agreement with fp32 and calibration time. For the attention models also
static int8 with attention's activation × activation MatMuls quantized (recipes keep them
float) and its latency against the default int8 file. Then ptq_dynamic's coverage (weighted
layers and weight bytes in int8, and the summary's warning) for each model and a small
ResNet. docs/benchmarks.md ("Quantization safety") keeps the figures.

    .venv/bin/python benchmarks/quantization_safety.py [--only bert vit] [--epochs 8]
        [--seq-len 24]   # BERT's sequence length (longer: more attention per token)
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import onnx
import torch
from rich.console import Console
from rich.table import Table
from torch import nn

from compression.batches import ModelInputs
from compression.measure import export_onnx, hardware_fingerprint
from compression.measure.latency import time_interleaved
from compression.quantization import Calibration, OnnxModel, inspect_int8
from compression.quantization.calibration import feed_for
from compression.quantization.onnx_int8 import (
    Int8Settings,
    quantize_onnx_dynamic,
    quantize_onnx_static,
)
from compression.quantization.summary import coverage_warnings
from compression.spec import TaskSpec, TrainSpec
from compression.tasks import Task, get_task, resolve_task
from compression.training import TrainConfig, train
from compression.workload import Workload

ROOT = Path(__file__).resolve().parents[1]
TEXT = str(ROOT / "examples/tasks/synthetic_text.py:splits")
IMAGES = str(ROOT / "examples/tasks/vision.py:digits_rgb")
warnings.filterwarnings("ignore")

TASKS: dict[str, str | dict[str, Any]] = {
    "bert": {"name": "bert", "metrics": ["accuracy"],
             "data": {"python": TEXT, "kwargs": {"train": 1600, "val": 64, "test": 400}},
             "model": {"hf": "AutoModelForSequenceClassification", "config": {
                 "model_type": "bert", "vocab_size": 96, "hidden_size": 32,
                 "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
                 "max_position_embeddings": 32, "num_labels": 4}}},
    "vit": {"name": "vit", "data": {"python": IMAGES}, "model": {
        "hf": "ViTForImageClassification",
        "config": {"image_size": 32, "patch_size": 8, "num_channels": 3, "hidden_size": 48,
                   "num_hidden_layers": 2, "num_attention_heads": 3, "intermediate_size": 96,
                   "num_labels": 10}}},
    "cnn": "digits-cnn",
    "mlp": "digits-mlp",
}
RESNET: dict[str, Any] = {"name": "resnet", "data": {"python": IMAGES}, "model": {
    "hf": "ResNetForImageClassification",
    "config": {"num_channels": 3, "embedding_size": 32, "hidden_sizes": [32, 64, 128, 256],
               "depths": [2, 2, 2, 2], "layer_type": "basic", "num_labels": 10}}}
METHODS = [Calibration("minmax"), Calibration("percentile", 99.999), Calibration("entropy")]


def task_of(ref: str | dict[str, Any]) -> Task:
    return get_task(ref) if isinstance(ref, str) else resolve_task(TaskSpec.model_validate(ref))


def trained(task: Task, work: Workload, epochs: int) -> nn.Module:
    torch.manual_seed(0)
    model = task.build_model()
    spec = TrainSpec(epochs=epochs, batch_size=32, optimizer={"name": "adamw", "lr": 2e-3})
    train(model, work, TrainConfig(spec, epochs, 0), emit=lambda *a: None)
    return model.eval()


def predictions(work: Workload, predict: Callable[[ModelInputs], torch.Tensor]) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat([predict(work.task.split_batch(b)[0]).argmax(-1)
                          for b in work.batches("test")])


def p50_ms(paths: dict[str, Path], batch: ModelInputs) -> dict[str, float]:
    sessions = {k: OnnxModel(p).session for k, p in paths.items()}
    calls = {k: (lambda s=s: s.run(None, feed_for(batch, {i.name for i in s.get_inputs()})))
             for k, s in sessions.items()}
    times = time_interleaved(calls, warmup=5, repeats=40)
    return {k: sorted(t)[len(t) // 2] for k, t in times.items()}


def with_seq_len(ref: str | dict[str, Any], seq_len: int) -> str | dict[str, Any]:
    """The BERT task with sequences of ``seq_len`` tokens; other tasks as they are."""
    if not isinstance(ref, dict) or ref["name"] != "bert":
        return ref
    data = {**ref["data"], "kwargs": {**ref["data"]["kwargs"], "seq_len": seq_len}}
    config = {**ref["model"]["config"], "max_position_embeddings": max(32, seq_len)}
    return {**ref, "data": data, "model": {**ref["model"], "config": config}}


def accuracy_rows(name: str, epochs: int, seq_len: int,
                  scratch: Path) -> tuple[list[list[str]], list[str]]:
    """Rows of the accuracy table, and the row of the activation-MatMul comparison."""
    task = task_of(with_seq_len(TASKS[name], seq_len))
    work = Workload(task)
    started = time.perf_counter()
    model = trained(task, work, epochs)
    train_s = time.perf_counter() - started
    example = work.example(2)
    fp32 = export_onnx(model, example, scratch / f"{name}.onnx")
    reference = predictions(work, OnnxModel(fp32))
    fp32_acc = work.evaluate_with(OnnxModel(fp32))["accuracy"]
    calibration = work.calibration(count=16, batch_size=64, seed=0)
    rows = [[name, f"fp32 (trained {epochs} epochs, {train_s:.0f} s)", f"{fp32_acc:.2%}", "-",
             "-", "-"]]
    variants = [(c, False) for c in METHODS]
    attention = any(n.op_type == "Softmax" for n in onnx.load(str(fp32)).graph.node)
    if attention:
        variants.append((Calibration("minmax"), True))
    files: dict[str, Path] = {}
    for calibrate, matmuls in variants:
        label = calibrate.method + (f" {calibrate.percentile:g}" if calibrate.method ==
                                    "percentile" else "") + (" + attention MatMuls" if matmuls
                                                             else "")
        made = quantize_onnx_static(fp32, scratch / f"{name}-{label}.onnx".replace(" ", "_"),
                                    Int8Settings(), calibration, calibrate=calibrate,
                                    activation_matmuls=matmuls)
        files[label] = made.path
        session = OnnxModel(made.path)
        acc = work.evaluate_with(session)["accuracy"]
        agree = float((predictions(work, session) == reference).float().mean())
        rows.append([name, f"int8 static, {label}", f"{acc:.2%}",
                     f"{100 * (fp32_acc - acc):+.2f}", f"{agree:.2%}", f"{made.seconds:.2f}"])
    notes: list[str] = []
    if attention:
        batch = work.example(32)
        ms = p50_ms({"fp32": fp32, "float": files["minmax"],
                     "quantized": files["minmax + attention MatMuls"]}, batch)
        notes = [name, f"{ms['fp32']:.2f}", f"{ms['float']:.2f}", f"{ms['quantized']:.2f}",
                 f"{ms['quantized'] / ms['float']:.2f}x"]
    return rows, notes


def coverage_row(name: str, ref: str | dict[str, Any], scratch: Path) -> list[str]:
    task = task_of(ref)
    work = Workload(task)
    torch.manual_seed(0)
    fp32 = export_onnx(task.build_model().eval(), work.example(2), scratch / f"{name}-c.onnx")
    dynamic = inspect_int8(quantize_onnx_dynamic(fp32, scratch / f"{name}-d.onnx",
                                                 Int8Settings()).path)
    static = inspect_int8(quantize_onnx_static(
        fp32, scratch / f"{name}-s.onnx", Int8Settings(),
        work.calibration(count=2, batch_size=32, seed=0)).path)
    warned = coverage_warnings("ptq_dynamic", dynamic)
    return [name, f"{len(dynamic.int8_layers)} / {dynamic.weighted_layers}",
            f"{dynamic.int8_weight_fraction:.1%}",
            f"{len(static.int8_layers)} / {static.weighted_layers}",
            f"{static.int8_weight_fraction:.1%}", warned[0] if warned else "-"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=list(TASKS), help="models (default: all)")
    parser.add_argument("--epochs", type=int, default=8, help="fp32 training epochs")
    parser.add_argument("--seq-len", type=int, default=24, help="BERT's sequence length")
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = args.only or list(TASKS)
    accuracy = Table(title="static int8 vs fp32 by calibration (16 batches of 64); agreement = "
                           "same argmax as fp32 on the test split")
    for col in ("model", "variant", "test accuracy", "drop (pt)", "agreement",
                "calibrate + quantize (s)"):
        accuracy.add_column(col)
    matmuls = Table(title="attention's activation × activation MatMuls: p50 ms, ONNX Runtime, "
                          "1 thread, batch 32")
    for col in ("model", "fp32", "int8, MatMuls float (default)", "int8, MatMuls quantized",
                "quantized / float (time)"):
        matmuls.add_column(col)
    coverage = Table(title="what each mode quantizes (weighted layers in int8, and their share "
                           "of the weight bytes)")
    for col in ("model", "dynamic layers", "dynamic bytes", "static layers", "static bytes",
                "ptq_dynamic warning"):
        coverage.add_column(col)
    with tempfile.TemporaryDirectory() as scratch:
        for name in names:
            rows, notes = accuracy_rows(name, args.epochs, args.seq_len, Path(scratch))
            for row in rows:
                accuracy.add_row(*row)
            if notes:
                matmuls.add_row(*notes)
        for name, ref in [*((n, TASKS[n]) for n in names), ("resnet (untrained)", RESNET)]:
            coverage.add_row(*coverage_row(name, ref, Path(scratch)))
    console = Console(width=220)
    console.print(accuracy)
    console.print(matmuls)
    console.print(coverage)
    console.print(f"machine: {hardware_fingerprint(1)['cpu']}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
