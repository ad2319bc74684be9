"""Streaming data: peak memory of image-folder training against the number of files, and the
runner's overhead over a plain PyTorch loop reading the same DataLoader.

1. Peak RSS. For each file count (default 5,000 and 20,000 generated PNGs), a fresh process
   trains examples/imagefolder-cnn.yaml's baseline for one epoch through the runner
   (``execute_run``), with 2 DataLoader workers, and reports its own peak RSS and the
   largest worker's. Memory independent of the file count is what streaming means here.
2. Overhead. On the largest folder, one training epoch through ``compression.training.train``
   (the loop every run uses: hooks, emitted curves, a validation pass) against a plain loop
   over a DataLoader with the same dataset, batch size, workers, optimizer and validation
   pass. They alternate, so machine noise hits both; the figure is the median per-pair ratio.

    .venv/bin/python benchmarks/streaming.py [--counts 5000 20000] [--pairs 5] [--root DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import yaml
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))  # examples/tasks is imported by path below

from compression.measure import hardware_fingerprint  # noqa: E402
from compression.spec import RunConfig, TrainSpec, expand, parse_spec  # noqa: E402
from compression.tasks import resolve_task  # noqa: E402
from compression.training import TrainConfig, make_optimizer, train  # noqa: E402
from compression.workload import Workload  # noqa: E402

WORKERS = 2


def folder(root: Path, count: int) -> Path:
    """A folder of ``count`` generated PNGs (made once, then reused)."""
    from examples.tasks.vision import write_image_folder

    path = root / f"digits-png-{count}"
    if not (path / ".complete").exists():
        write_image_folder(path, count)
        (path / ".complete").write_text("ok")
    return path


def config(images: Path, epochs: int) -> RunConfig:
    spec = yaml.safe_load((ROOT / "examples" / "imagefolder-cnn.yaml").read_text())
    spec["task"]["data"]["image_folder"] = str(images)
    spec["task"]["model"]["python"] = str(ROOT / spec["task"]["model"]["python"])
    spec["loader"]["num_workers"] = WORKERS
    spec["baseline"]["epochs"] = epochs
    spec["recipes"] = []
    spec["measure"] = {"latency": {"batch_sizes": [1], "warmup": 1, "repeats": 3,
                                   "runtimes": ["torch"]}}
    return expand(parse_spec(spec))[0]


def peak_rss_child(images: str) -> None:
    """Run in a fresh process: one epoch through the runner, then print peak RSS (MiB)."""
    from compression.runner import execute_run

    torch.set_num_threads(1)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        result = execute_run(config(Path(images), 1), workdir=Path(work), emit=lambda *a: None)
    print(json.dumps({
        "self_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "seconds": time.perf_counter() - started,
        "accuracy": result.summary.accuracy}))


def peak_rss(images: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", str(images)], check=True,
                         capture_output=True, text=True, cwd=ROOT)
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def plain_epoch(model: torch.nn.Module, work: Workload, spec: TrainSpec, seed: int) -> None:
    """What a user writes by hand: a DataLoader, forward, loss, backward, step, validation."""
    from torch.utils.data import DataLoader

    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(work.data.train, batch_size=spec.batch_size, shuffle=True,  # type: ignore[arg-type]
                        generator=generator, num_workers=WORKERS)
    optimizer = make_optimizer(list(model.parameters()), spec.optimizer)
    model.train()
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        float(loss.detach())  # the runner reads the loss every step too
    model.eval()
    correct = total = 0
    with torch.inference_mode():
        for x, y in DataLoader(work.data.val, batch_size=256, num_workers=WORKERS):  # type: ignore[arg-type]
            correct += int((model(x).argmax(1) == y).sum())
            total += len(y)
    model.train()


def overhead(images: Path, pairs: int) -> tuple[list[float], list[float]]:
    cfg = config(images, 1)
    task = resolve_task(cfg.task)
    work = Workload(task, loader=cfg.loader)
    runner_s, plain_s = [], []
    for _ in range(pairs):
        torch.manual_seed(0)
        model = task.build_model()
        started = time.perf_counter()
        train(model, work, TrainConfig(cfg.baseline, 1, seed=0), emit=lambda *a: None)
        runner_s.append(time.perf_counter() - started)
        torch.manual_seed(0)
        model = task.build_model()
        started = time.perf_counter()
        plain_epoch(model, work, cfg.baseline, 0)
        plain_s.append(time.perf_counter() - started)
    return runner_s, plain_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[5_000, 20_000])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--root", type=Path, default=ROOT / ".squeezelab" / "bench-data")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        peak_rss_child(args.child)
        return
    torch.set_num_threads(1)
    console = Console(width=200)
    table = Table(title=f"image-folder training, 1 epoch through the runner, {WORKERS} "
                        "DataLoader workers, fresh process each")
    for col in ("PNG files", "training process peak RSS MiB", "largest worker peak RSS MiB",
                "epoch + measure s", "accuracy"):
        table.add_column(col, justify="right")
    for count in args.counts:
        figures = peak_rss(folder(args.root, count))
        table.add_row(f"{count:,}", f"{figures['self_mib']:.0f}", f"{figures['worker_mib']:.0f}",
                      f"{figures['seconds']:.1f}", f"{figures['accuracy']:.3f}")
    console.print(table)
    largest = folder(args.root, max(args.counts))
    runner_s, plain_s = overhead(largest, args.pairs)
    ratios = [r / p for r, p in zip(runner_s, plain_s, strict=True)]
    timing = Table(title=f"one epoch over {max(args.counts):,} PNGs, DataLoader with {WORKERS} "
                         f"workers, {args.pairs} pairs")
    for col in ("loop", "median s/epoch", "min s/epoch"):
        timing.add_column(col, justify="right")
    timing.add_row("plain PyTorch", f"{statistics.median(plain_s):.2f}", f"{min(plain_s):.2f}")
    timing.add_row("squeezelab train()", f"{statistics.median(runner_s):.2f}",
                   f"{min(runner_s):.2f}")
    console.print(timing)
    console.print(f"runner / plain (median of per-pair ratios): {statistics.median(ratios):.3f}x"
                  f"   target <= 1.10x   machine: {hardware_fingerprint(1)['cpu']}")


if __name__ == "__main__":
    main()
