"""Head-aware channel pruning of transformers: what removing half of the heads (with half of
the residual and intermediate width) buys in parameters, MACs and torch latency.

A BERT encoder (BertForSequenceClassification, token inputs) and a ViT
(ViTForImageClassification) are built from their config classes with random init (no
download), pruned by ``ChannelPruner`` at channel sparsity 0.5 (4 heads per layer -> 2), and
timed dense vs pruned, interleaved in this process (``time_interleaved``), so that machine
noise hits both alike. Latency is p50 of eager torch under inference_mode.

    .venv/bin/python benchmarks/head_pruning.py [--threads 1] [--repeats 30] [--target 0.5]
"""

from __future__ import annotations

import argparse
import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from rich.console import Console
from rich.table import Table
from torch import nn

from compression.batches import call_model
from compression.measure import count_macs, hardware_fingerprint, percentile
from compression.measure.latency import time_interleaved
from compression.pruning import ChannelPruner

warnings.filterwarnings("ignore")
Inputs = dict[str, torch.Tensor]


@dataclass
class Subject:
    """A transformer and a function that gives it a batch of ``n`` inputs."""

    name: str
    model: nn.Module
    batch: Callable[[int], Inputs]
    shape: str  # the dense shape, in words


def bert() -> Subject:
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(vocab_size=1000, hidden_size=256, num_hidden_layers=4,
                        num_attention_heads=4, intermediate_size=1024,
                        max_position_embeddings=128, num_labels=4)
    model = BertForSequenceClassification(config).eval()

    def batch(n: int) -> Inputs:
        ids = torch.randint(5, 1000, (n, 128), generator=torch.Generator().manual_seed(n))
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}

    return Subject("bert", model, batch, "4 layers, hidden 256, 4 heads, ffn 1024, seq 128")


def vit() -> Subject:
    from transformers import ViTConfig, ViTForImageClassification

    config = ViTConfig(image_size=64, patch_size=8, num_channels=3, hidden_size=256,
                       num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024,
                       num_labels=10)
    model = ViTForImageClassification(config).eval()

    def batch(n: int) -> Inputs:
        g = torch.Generator().manual_seed(n)
        return {"pixel_values": torch.randn(n, 3, 64, 64, generator=g)}

    return Subject("vit", model, batch, "4 layers, hidden 256, 4 heads, ffn 1024, 65 tokens")


def params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per model")
    parser.add_argument("--target", type=float, default=0.5, help="channel sparsity")
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=[1, 32])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    table = Table(title=f"head-aware channel pruning at {args.target:g}: dense vs pruned "
                        f"(torch p50, {args.threads} thread(s), {args.repeats} calls each)")
    for column in ("model", "heads/hidden/ffn", "batch", "params", "MACs", "dense p50 ms",
                   "pruned p50 ms", "speedup"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for make in (bert, vit):
        torch.manual_seed(0)
        subject = make()
        dense = subject.model
        pruned = copy.deepcopy(dense)
        ChannelPruner(pruned, example_inputs=subject.batch(2),
                      classifier="classifier").prune_to(args.target)
        config = pruned.config
        shape = (f"4/256/1024 → {config.num_attention_heads}/{config.hidden_size}/"
                 f"{config.intermediate_size}")
        ratio_params = params(dense) / params(pruned)
        macs = [count_macs(m, subject.batch(1))[0] for m in (dense, pruned)]
        for n in args.batch_sizes:
            inputs = subject.batch(n)
            calls = {"dense": lambda m=dense, x=inputs: call_model(m, x),
                     "pruned": lambda m=pruned, x=inputs: call_model(m, x)}
            with torch.inference_mode():
                samples = time_interleaved(calls, warmup=3, repeats=args.repeats)
            p50 = {k: percentile(v, 50) for k, v in samples.items()}
            table.add_row(f"{subject.name} ({subject.shape})", shape, str(n),
                          f"{params(dense) / 1e6:.2f}M → {params(pruned) / 1e6:.2f}M "
                          f"({ratio_params:.2f}×)",
                          f"{macs[0] / 1e6:.1f}M → {macs[1] / 1e6:.1f}M "
                          f"({macs[0] / macs[1]:.2f}×)",
                          f"{p50['dense']:.2f}", f"{p50['pruned']:.2f}",
                          f"{p50['dense'] / p50['pruned']:.2f}×")
    console = Console(width=200)
    console.print(table)
    console.print(f"machine: {hardware_fingerprint(args.threads)['cpu']}, torch "
                  f"{torch.__version__}; MACs per sample")


if __name__ == "__main__":
    main()
