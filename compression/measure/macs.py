"""Multiply-accumulates, counted by torch's FlopCounterMode (MACs = FLOPs / 2)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from compression.batches import ModelInputs, call_model

_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def weight_density(module: nn.Module) -> float:
    """Fraction of nonzero entries of ``module.weight`` (1.0 when it has none)."""
    weight = getattr(module, "weight", None)
    if not isinstance(weight, torch.Tensor) or weight.numel() == 0:
        return 1.0
    return int(torch.count_nonzero(weight)) / weight.numel()


def count_macs(model: nn.Module, example_inputs: ModelInputs) -> tuple[int, int]:
    """(MACs as run, effective MACs) of one forward pass over ``example_inputs``.

    Effective MACs scale each Linear/ConvNd layer's MACs by its weight density: the work a
    perfect sparse kernel would do. Other counted ops (e.g. attention matmuls) count in full.
    Pass a batch of 1 for per-sample figures.
    """
    counter = FlopCounterMode(display=False)
    per_layer: dict[nn.Module, int] = {}
    started: dict[nn.Module, int] = {}

    # Hooks read the running total around each weighted layer, which attributes FLOPs to
    # modules without relying on FlopCounterMode's internal module naming.
    def before(module: nn.Module, args: Any) -> None:
        started[module] = counter.get_total_flops()

    def after(module: nn.Module, args: Any, output: Any) -> None:
        done = counter.get_total_flops() - started.pop(module)
        per_layer[module] = per_layer.get(module, 0) + done

    handles = []
    for module in model.modules():
        if isinstance(module, _WEIGHTED):
            handles.append(module.register_forward_pre_hook(before))
            handles.append(module.register_forward_hook(after))
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), counter:
            call_model(model, example_inputs)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    total = counter.get_total_flops()
    in_layers = sum(per_layer.values())
    effective = total - in_layers + sum(f * weight_density(m) for m, f in per_layer.items())
    return total // 2, round(effective / 2)
