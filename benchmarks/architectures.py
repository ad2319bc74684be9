"""Which recipe kinds run on which architectures: every recipe kind on every model family, a
table of outcomes (docs/tasks.md keeps the result).

Each architecture is a small, randomly initialised model (no download) on data that ships
with scikit-learn; the transformers models come from their config classes. The baseline
trains briefly; each recipe fine-tunes two epochs. Every run is under the result guard
(``guard.fail_if_drop``, 0.10 by default, and at-chance detection). A cell shows the primary
metric's drop from the baseline and the measured speedup (torch, batch 32; "≈1.0× (noise)"
when its interval contains 1), ⚠ when the summary has warnings, or why the run failed:
"✗ +31.5pt (drop > bound)" is a run that finished and was refused by the guard.

    .venv/bin/python benchmarks/architectures.py [--only resnet bert] [--epochs 4]
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from compression.local import run_local_sweep
from compression.measure import hardware_fingerprint
from compression.spec import parse_spec
from squeezelab.local_cmd import result_notes

ROOT = Path(__file__).parents[1]
TEXT = str(ROOT / "examples/tasks/synthetic_text.py:splits")
IMAGES = str(ROOT / "examples/tasks/vision.py:digits_rgb")

ARCHITECTURES: dict[str, dict[str, Any]] = {
    "mlp": {"task": "digits-mlp"},
    "cnn": {"task": "digits-cnn"},
    "conv1d": {"task": "mnist1d-cnn"},
    "plugin (dict in, .logits out)": {"task": str(ROOT / "examples/tasks/tabular_plugin.py:task")},
    "resnet": {"task": {"name": "resnet", "data": {"python": IMAGES}, "model": {
        "hf": "ResNetForImageClassification",
        "config": {"num_channels": 3, "embedding_size": 16, "hidden_sizes": [16, 32, 64],
                   "depths": [1, 1, 1], "layer_type": "basic", "num_labels": 10,
                   "downsample_in_first_stage": False}}}},
    "mobilenet_v2": {"task": {"name": "mobilenet", "data": {"python": IMAGES}, "model": {
        "hf": "MobileNetV2ForImageClassification",
        "config": {"num_channels": 3, "image_size": 32, "depth_multiplier": 0.35,
                   "num_labels": 10}}}},
    "convnext": {"task": {"name": "convnext", "data": {"python": IMAGES}, "model": {
        "hf": "ConvNextForImageClassification",
        "config": {"num_channels": 3, "num_stages": 3, "hidden_sizes": [16, 32, 64],
                   "depths": [1, 1, 1], "patch_size": 2, "num_labels": 10}}}},
    "vit": {"task": {"name": "vit", "data": {"python": IMAGES}, "model": {
        "hf": "ViTForImageClassification",
        "config": {"image_size": 32, "patch_size": 8, "num_channels": 3, "hidden_size": 48,
                   "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 96,
                   "num_labels": 10}}}},
    "bert": {"task": {"name": "bert", "metrics": ["macro_f1", "accuracy"],
                      "data": {"python": TEXT, "kwargs": {"train": 960, "val": 192,
                                                          "test": 384}},
                      "model": {"hf": "AutoModelForSequenceClassification", "config": {
                          "model_type": "bert", "vocab_size": 96, "hidden_size": 32,
                          "num_hidden_layers": 2, "num_attention_heads": 4,
                          "intermediate_size": 64, "max_position_embeddings": 32,
                          "num_labels": 4}}}},
}


def recipes(exclude: list[str]) -> list[dict[str, Any]]:
    tune = {"epochs": 2, "batch_size": 32, "optimizer": {"name": "adamw", "lr": 5e-4}}
    return [
        {"name": "unstructured-agp", "prune": {"granularity": "unstructured"},
         "schedule": {"kind": "agp", "final_sparsity": 0.8, "end_epoch": 1, "frequency": 5},
         "finetune": tune},
        {"name": "channel", "prune": {"granularity": "channel", "exclude": exclude},
         "schedule": {"kind": "one_shot", "final_sparsity": 0.5}, "finetune": tune},
        {"name": "nm", "prune": {"granularity": "nm", "n": 2, "m": 4}, "finetune": tune},
        {"name": "ptq_dynamic", "quantize": {"mode": "ptq_dynamic"}},
        {"name": "ptq_static", "quantize": {"mode": "ptq_static", "calibration_batches": 8}},
        {"name": "qat", "quantize": {"mode": "qat"}, "finetune": tune},
        {"name": "distill", "prune": {"granularity": "unstructured"},
         "schedule": {"kind": "one_shot", "final_sparsity": 0.5},
         "distill": {"temperature": 2.0, "alpha": 0.5}, "finetune": tune},
        {"name": "sensitivity", "sensitivity": {"levels": [0.5]}},
    ]


def _speed(s: dict[str, Any]) -> str:
    """The torch speedup at batch 32 (ONNX Runtime for int8), "≈1.0×" when it is noise."""
    speed, intervals = s.get("speedup", {}), s.get("speedup_interval", {})
    runtime = "torch" if "torch" in speed else "onnxruntime"
    x = (speed.get(runtime) or {}).get("32")
    if x is None:
        return ""
    noise = ((intervals.get(runtime) or {}).get("32") or {}).get("noise")
    return " ≈1.0× (noise)" if noise else f" {x:.2f}×"


def cell(run: dict[str, Any]) -> str:
    s = run.get("summary")
    if run["status"] != "succeeded" and not s:
        message = (run.get("error") or {}).get("message", run["status"])
        return f"[red]✗ {message[:70]}[/]"
    assert s is not None
    drop = s["metric"]["drop"]
    shown = f"{100 * drop:+.1f}pt" if s["metric"]["name"] in ("accuracy", "macro_f1") else \
        f"{drop:+.3g}"
    if run["status"] != "succeeded":  # the result guard: finished, but not a result
        why = "at chance" if "chance level" in (s.get("failure") or "") else "drop > bound"
        return f"[red]✗ {shown} ({why})[/]"
    warned = " ⚠" if s.get("warnings") or (s.get("quantization") or {}).get("warnings") else ""
    return f"[green]✓[/] {shown}{_speed(s)}{warned}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="architectures to run (default: all)")
    parser.add_argument("--epochs", type=int, default=4, help="baseline epochs")
    parser.add_argument("--fail-if-drop", type=float, default=0.10,
                        help="the result guard's bound on the primary metric's drop")
    args = parser.parse_args()
    names = args.only or list(ARCHITECTURES)
    kinds = [r["name"] for r in recipes([])]
    table = Table(title="recipe kinds × architectures: primary-metric drop (positive is "
                        "worse) and torch speedup at batch 32, or why it failed")
    table.add_column("architecture")
    table.add_column("baseline")
    for kind in kinds:
        table.add_column(kind)
    notes: list[str] = []
    for name in names:
        arch = copy.deepcopy(ARCHITECTURES[name])
        spec = parse_spec({
            "name": f"arch-{name}", "task": arch["task"], "seeds": [0],
            "baseline": {"epochs": args.epochs, "batch_size": 32,
                         "optimizer": {"name": "adamw", "lr": 2e-3}},
            "recipes": recipes(arch.get("exclude", [])),
            "guard": {"fail_if_drop": args.fail_if_drop},
            "measure": {"latency": {"batch_sizes": [32], "warmup": 2, "repeats": 10,
                                    "runtimes": ["torch", "onnxruntime"]}}})
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as work:
            results = run_local_sweep(spec, workdir=Path(work))
        runs = {r["name"].split("@")[0]: r for r in results["runs"]}
        base = runs["baseline"]
        base_cell = (f"{base['summary']['metric']['name']} "
                     f"{base['summary']['metric']['value']:.3f}" if base["summary"]
                     else cell(base))
        table.add_row(f"{name} ({time.perf_counter() - started:.0f} s)", base_cell,
                      *[cell(runs[k]) if k in runs else "–" for k in kinds])
        notes += [f"{name}: {line}" for line in result_notes(results["runs"])]
    console = Console(width=260)
    console.print(table)
    for line in notes:
        console.print(line, overflow="fold")
    console.print(f"machine: {hardware_fingerprint(1)['cpu']}, 1 latency thread")


if __name__ == "__main__":
    main()
