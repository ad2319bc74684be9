"""Speedup noise: does a speedup's 95% interval tell a real gain from noise?

Each comparison is measured with ``measure_model``, as a run measures it (the dense model and
the candidate timed interleaved in this process), and its speedup shown as the CLI shows it:

- digits-cnn pruned unstructured 80% (weights zeroed by ``compression.pruning``): as much
  dense arithmetic as before, so its speedup should read as noise;
- a transformers ResNet (from its config, random weights; no download), 50% of its channels
  removed by ``ChannelPruner``: a quarter of the MACs, so a clear gain;
- digits-cnn against an exact copy of itself (an A/A control): noise by construction. With
  ``--trials N`` it is measured N times more and the share of intervals that exclude 1.0 is
  printed: a calibrated 95% interval does so about 5% of the time.

    .venv/bin/python benchmarks/speedup_noise.py [--repeats 50] [--threads 1] [--trials 20]
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table
from torch import nn
from transformers import ResNetConfig, ResNetForImageClassification

from compression.measure import hardware_fingerprint, measure_model
from compression.pruning import ChannelPruner, UnstructuredPruner, prunable_layers
from compression.pruning.targets import output_layer
from compression.spec import LatencySpec, RunSummary
from compression.tasks import resolve_task
from squeezelab.tables import speedup_text

warnings.filterwarnings("ignore")
RESNET: dict[str, Any] = {"num_channels": 3, "embedding_size": 32, "hidden_sizes": [32, 64, 128],
          "depths": [1, 1, 1], "layer_type": "basic", "num_labels": 10,
          "downsample_in_first_stage": False}
IMAGE = 64  # ResNet input side: large enough that arithmetic, not per-op overhead, dominates

Examples = Callable[[int], torch.Tensor]
Case = tuple[str, nn.Module, nn.Module, Examples]


def digits_cnn() -> tuple[nn.Module, Examples]:
    task = resolve_task("digits-cnn")
    torch.manual_seed(0)
    data: Any = task.load_data(0)
    test = data.x_test
    return task.build_model().eval(), lambda b: test[:b]


def cases() -> list[Case]:
    cnn, digits = digits_cnn()
    unstructured = copy.deepcopy(cnn)
    UnstructuredPruner(prunable_layers(unstructured), scope="layer",
                       criterion="l1").prune_to(0.8)
    torch.manual_seed(0)
    resnet: nn.Module = ResNetForImageClassification(ResNetConfig(**RESNET))
    resnet.eval()
    images = torch.randn(256, 3, IMAGE, IMAGE, generator=torch.Generator().manual_seed(0))
    pruned = copy.deepcopy(resnet)
    example = images[:2]
    ChannelPruner(pruned, example_inputs=example,
                  classifier=output_layer(pruned, example)).prune_to(0.5)
    return [("digits-cnn unstructured 80%", unstructured, cnn, digits),
            ("resnet channel 50%", pruned, resnet, lambda b: images[:b]),
            ("digits-cnn vs its copy (A/A)", copy.deepcopy(cnn), cnn, digits)]


def measure(model: nn.Module, dense: nn.Module, examples: Examples,
            spec: LatencySpec) -> RunSummary:
    with tempfile.TemporaryDirectory(prefix="speedup-noise-") as out:
        measured = measure_model(model, dense_model=dense, prunable=list(prunable_layers(dense)),
                                 examples=examples, latency=spec, out_dir=Path(out))
    return RunSummary.model_validate(measured.summary)


def rows(name: str, summary: RunSummary) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for runtime, per_batch in (summary.latency_ms or {}).items():
        for batch, figures in per_batch.items():
            speed = (summary.speedup or {})[runtime][batch]
            interval = (summary.speedup_interval or {})[runtime][batch]
            found.append((name, runtime, batch, f"{figures['p50'] * speed:.3f}",
                          f"{figures['p50']:.3f}", f"{speed:.3f}×",
                          f"{interval.lo:.3f}–{interval.hi:.3f}",
                          "[yellow]noise[/]" if interval.noise else "[green]clear[/]",
                          speedup_text(speed, interval)))
    return found


def intervals(summary: RunSummary) -> list[tuple[str, str, Any]]:
    return [(runtime, batch, iv) for runtime, per_batch in (summary.speedup_interval or {}).items()
            for batch, iv in per_batch.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--runtimes", nargs="+", default=["torch", "onnxruntime"])
    parser.add_argument("--trials", type=int, default=0,
                        help="extra A/A measurements, for the false-call rate")
    args = parser.parse_args()
    spec = LatencySpec.model_validate({"batch_sizes": args.batch_sizes, "repeats": args.repeats,
                                       "threads": args.threads, "runtimes": args.runtimes})
    console = Console()
    hw = hardware_fingerprint(args.threads)
    console.print(f"{hw['cpu']}, {hw['threads']} thread(s), torch {hw['torch']}; "
                  f"{args.repeats} interleaved calls per model, runtime and batch size")

    table = Table(title="speedup and its 95% interval (paired bootstrap over timing rounds)")
    for col in ("comparison", "runtime", "batch", "dense p50 ms", "p50 ms", "speedup",
                "95% interval", "verdict", "CLI shows"):
        table.add_column(col, justify="left" if col in ("comparison", "runtime", "verdict",
                                                        "CLI shows") else "right")
    summaries = {}
    for name, model, dense, examples in cases():
        summaries[name] = measure(model, dense, examples, spec)
        for row in rows(name, summaries[name]):
            table.add_row(*row)
    console.print(table)

    unstructured = intervals(summaries["digits-cnn unstructured 80%"])
    channel = intervals(summaries["resnet channel 50%"])
    big = str(max(args.batch_sizes))
    checks = [("digits-cnn unstructured 80%: every interval contains 1.0 (shown as noise)",
               all(iv.noise for _, _, iv in unstructured)),
              (f"resnet channel 50%: interval above 1.5 at batch {big}, every runtime",
               all(iv.lo > 1.5 for _, b, iv in channel if b == big))]
    for what, ok in checks:
        console.print(f"{'[green]✓' if ok else '[red]✗'}[/] {what}")

    if args.trials:
        _, cnn, dense, examples = cases()[2]
        calls = [iv for _ in range(args.trials)
                 for _, _, iv in intervals(measure(cnn, dense, examples, spec))]
        false = sum(not iv.noise for iv in calls)
        console.print(f"A/A control: {false} of {len(calls)} intervals exclude 1.0 "
                      f"({false / len(calls):.1%}; a calibrated 95% interval: about 5%)")


if __name__ == "__main__":
    main()
