"""Sparsity and parameter counts, relative to the dense model a compressed one came from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from compression.errors import UnsupportedRecipeError


@dataclass(frozen=True)
class WeightStats:
    """Weight figures of a (possibly pruned) model.

    Attributes:
        sparsity: fraction of the dense model's prunable weights that are zero or gone.
        layer_sparsity: the same per prunable layer (module name).
        params_total: parameters of the model as it is now.
        params_nonzero: its nonzero parameters.
    """

    sparsity: float
    layer_sparsity: dict[str, float]
    params_total: int
    params_nonzero: int


def _weight(module: nn.Module) -> torch.Tensor | None:
    """The module's effective weight; quantized modules expose it through a method."""
    weight = getattr(module, "weight", None)
    if callable(weight) and not isinstance(weight, torch.Tensor):
        weight = weight()
    if not isinstance(weight, torch.Tensor):
        return None
    return weight.dequantize() if weight.is_quantized else weight


def _effective_params(model: nn.Module) -> list[torch.Tensor]:
    """Parameters as the forward pass sees them: ``torch.nn.utils.prune`` keeps the unmasked
    ``<name>_orig`` as the parameter and the masked ``<name>`` as a plain attribute."""
    tensors = []
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            base, pruned = name.removesuffix("_orig"), name.endswith("_orig")
            masked = getattr(module, base, None) if pruned else None
            tensors.append(masked if isinstance(masked, torch.Tensor) else param)
    return tensors


def weight_stats(
    model: nn.Module, *, dense_model: nn.Module, prunable: Sequence[str]
) -> WeightStats:
    """Sparsity of ``model``'s prunable layers measured against ``dense_model``'s weight counts.

    A channel-pruned layer has fewer weights than its dense counterpart; the missing ones
    count as pruned. Layers are matched by module name.

    Args:
        prunable: module names of the prunable layers (each has a ``weight``).
    """
    dense_modules = dict(dense_model.named_modules())
    modules = dict(model.named_modules())
    layer_sparsity: dict[str, float] = {}
    dense_total = kept_total = 0
    for name in prunable:
        dense_weight = _weight(dense_modules[name]) if name in dense_modules else None
        if dense_weight is None or dense_weight.numel() == 0:
            raise UnsupportedRecipeError(f"prunable layer {name!r} has no weight in the model")
        weight = _weight(modules[name]) if name in modules else None
        kept = 0 if weight is None else int(torch.count_nonzero(weight))
        layer_sparsity[name] = 1.0 - kept / dense_weight.numel()
        dense_total += dense_weight.numel()
        kept_total += kept
    params = _effective_params(model)
    return WeightStats(
        sparsity=1.0 - kept_total / dense_total if dense_total else 0.0,
        layer_sparsity=layer_sparsity,
        params_total=sum(p.numel() for p in params),
        params_nonzero=sum(int(torch.count_nonzero(p)) for p in params),
    )
