"""The GPU path, measured: a run trained on CUDA in fp32 and in mixed precision, and 2:4
semi-structured kernels against the same layers dense. Needs a CUDA device; it says so and
exits 2 without one.

- training: the digits-mlp baseline (``execute_run``, ``device: cuda``) with
  ``precision: fp32`` and ``auto`` (bf16 where the GPU has it, else fp16), wall time and
  accuracy of each;
- 2:4: a 4096-wide MLP pruned 2:4 (``nm_masks``), its Linear layers as
  ``to_sparse_semi_structured`` tensors against the same model dense, half precision, timed
  interleaved with CUDA events (``measure_semi_structured``), per batch size.

    .venv/bin/python benchmarks/gpu.py [--batch-sizes 64 512 4096] [--repeats 100]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table
from torch import nn

from compression.device import supports_semi_structured
from compression.measure.semistructured import measure_semi_structured
from compression.pruning import nm_masks
from compression.runner import execute_run
from compression.spec import expand, parse_spec


def training_table() -> Table:
    table = Table(title="digits-mlp baseline on CUDA: 20 epochs")
    for col in ("precision", "wall s", "accuracy", "torch p50 ms (batch 64)"):
        table.add_column(col, justify="right")
    for precision in ("fp32", "auto"):
        (config,) = expand(parse_spec({
            "name": "gpu", "task": "digits-mlp", "device": "cuda", "seeds": [0],
            "baseline": {"epochs": 20, "precision": precision, "optimizer": {"lr": 3e-3}},
            "measure": {"latency": {"batch_sizes": [64], "runtimes": ["torch"]}}}))
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as work:
            summary = execute_run(config, workdir=Path(work), emit=lambda *a: None).summary
        wall = time.perf_counter() - started
        latency = (summary.latency_ms or {})["torch"]["64"]["p50"]
        table.add_row(precision, f"{wall:.1f}", f"{summary.accuracy:.4f}", f"{latency:.3f}")
    return table


def sparse_table(batch_sizes: list[int], repeats: int) -> Table:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 4096)).cuda()
    layers: dict[str, nn.Module] = {"0": model[0], "2": model[2]}
    masks, _ = nm_masks(layers, 2, 4)
    with torch.no_grad():
        for name, mask in masks.items():
            weight = layers[name].get_parameter("weight")
            weight.mul_(mask.to(weight.device))
    table = Table(title="4096x4096 MLP, 2:4 sparse tensor cores vs dense (half precision, "
                        "CUDA events)")
    for col in ("dtype", "batch", "dense p50 ms", "2:4 p50 ms", "speedup"):
        table.add_column(col, justify="right")
    for dtype in (torch.float16, torch.bfloat16):
        block = measure_semi_structured(model, examples=lambda b: torch.randn(b, 4096),
                                        batch_sizes=batch_sizes, dtype=dtype,
                                        repeats=repeats)
        for batch in map(str, batch_sizes):
            table.add_row(block["dtype"], batch,
                          f"{block['dense_latency_ms'][batch]['p50']:.3f}",
                          f"{block['latency_ms'][batch]['p50']:.3f}",
                          f"{block['speedup_vs_dense'][batch]:.2f}×")
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 512, 4096])
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()
    console = Console(width=140)
    if not torch.cuda.is_available():
        console.print("no CUDA device: this benchmark needs a GPU machine")
        return 2
    device = torch.device("cuda")
    console.print(f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}, "
                  f"CUDA {torch.version.cuda}")
    console.print(training_table())
    if supports_semi_structured(device):
        console.print(sparse_table(args.batch_sizes, args.repeats))
    else:
        console.print("this GPU has no 2:4 sparse tensor cores (compute capability < 8.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
