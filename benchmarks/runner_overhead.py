"""Runner overhead: a fine-tuning epoch through the runner vs a plain PyTorch loop.

Both sides fine-tune the same 90%-sparse digits-mlp (same data, batch size, optimizer, seed)
and both re-apply the pruning mask after every optimizer step and compute a validation
accuracy after every epoch, which is the work any prune-retrain loop must do. The runner side
goes through ``compress_model`` (schedule, pruner hooks, metric emission into a list as
``squeezelab local`` does). The two alternate, so machine
noise hits both alike; the figure is the median of the per-pair ratios.

    .venv/bin/python benchmarks/runner_overhead.py [--epochs 3] [--pairs 7] [--threads 1]
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import time

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table

from compression.measure import hardware_fingerprint
from compression.pruning import magnitude_masks, prunable_layers
from compression.runner import compress_model
from compression.spec import RunConfig, TrainSpec, parse_spec
from compression.spec import expand as expand_spec
from compression.tasks import DataSplits, get_task
from compression.training import make_optimizer
from compression.workload import Workload


def plain_loop(model: torch.nn.Module, data: DataSplits, spec: TrainSpec, epochs: int,
               seed: int, masks: dict[str, torch.Tensor]) -> None:
    """What a user would write by hand: shuffle, forward, loss, backward, step, re-mask."""
    layers = prunable_layers(model)
    keep = {name: mask.float() for name, mask in masks.items()}  # the fast idiom
    generator = torch.Generator().manual_seed(seed)
    optimizer = make_optimizer(list(model.parameters()), spec.optimizer)
    n, bs = len(data.y_train), spec.batch_size
    model.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for i in range(0, n, bs):
            idx = order[i:i + bs]
            loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            with torch.no_grad():
                for name, mask in keep.items():
                    layers[name].weight.mul_(mask)
            float(loss.detach())  # the runner reads the loss every step too
        model.eval()
        with torch.inference_mode():  # a per-epoch validation accuracy, as the runner records
            (model(data.x_val).argmax(1) == data.y_val).float().mean().item()
        model.train()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    spec = parse_spec({
        "name": "overhead", "task": "digits-mlp", "seeds": [0],
        "recipes": [{"name": "one-shot", "prune": {"granularity": "unstructured"},
                     "schedule": {"kind": "one_shot", "final_sparsity": 0.9},
                     "finetune": {"epochs": args.epochs, "optimizer": {"lr": 1e-3}}}],
    })
    config: RunConfig = expand_spec(spec)[1]
    recipe = config.recipe
    assert recipe is not None and recipe.finetune is not None
    task = get_task(config.task)
    data = task.load_data(0)
    torch.manual_seed(0)
    dense = task.build_model()
    masks = magnitude_masks(prunable_layers(dense), 0.9, scope="layer", criterion="l1")

    runner_s, plain_s = [], []
    points: list[tuple[str, int, float]] = []
    for _ in range(args.pairs):
        points.clear()
        start = time.perf_counter()
        compress_model(config, recipe, Workload(task), dense,
                       emit=lambda k, s, v: points.append((k, s, v)))
        runner_s.append(time.perf_counter() - start)

        model = copy.deepcopy(dense)
        start = time.perf_counter()
        plain_loop(model, data, recipe.finetune, args.epochs, config.seed, masks)
        plain_s.append(time.perf_counter() - start)

    steps = args.epochs * math.ceil(len(data.y_train) / recipe.finetune.batch_size)
    ratios = [r / p for r, p in zip(runner_s, plain_s, strict=True)]
    table = Table(title=f"runner overhead: digits-mlp, 90% unstructured, {args.epochs} epochs "
                        f"({steps} steps), {args.threads} thread(s), {args.pairs} pairs")
    for col in ("loop", "median s/epoch", "min s/epoch"):
        table.add_column(col, justify="right")
    table.add_row("plain PyTorch", f"{statistics.median(plain_s) / args.epochs:.4f}",
                  f"{min(plain_s) / args.epochs:.4f}")
    table.add_row("squeezelab runner", f"{statistics.median(runner_s) / args.epochs:.4f}",
                  f"{min(runner_s) / args.epochs:.4f}")
    console = Console(width=200)  # tables stay whole when piped to a file
    console.print(table)
    console.print(f"runner / plain (median of per-pair ratios): {statistics.median(ratios):.3f}x"
                  f"   target <= 1.10x   machine: {hardware_fingerprint(args.threads)['cpu']}")


if __name__ == "__main__":
    main()
