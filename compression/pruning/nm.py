"""N:M semi-structured sparsity: n of every m consecutive input weights are kept."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from compression.errors import UnsupportedRecipeError
from compression.pruning.targets import weight_of


def check_nm(n: int, m: int) -> None:
    """Reject an N:M pattern that keeps nothing or everything."""
    if not 0 < n < m:
        raise UnsupportedRecipeError(f"N:M sparsity needs 0 < n < m, got {n}:{m}")


def nm_mask(weight: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """Keep-mask keeping the n largest |w| of every m consecutive input-dimension weights.

    weight: (out, in) or (out, in, *kernel) with ``in`` divisible by m. As in NVIDIA ASP, a
    conv weight is viewed as (out, *kernel, in) so that each group runs along input channels
    at one kernel position: that is the layout sparse tensor cores read.
    """
    if weight.dim() < 2 or weight.shape[1] % m:
        raise ValueError(f"input dimension of shape {tuple(weight.shape)} is not divisible by {m}")
    # Move the input dimension last: (out, in, *k) -> (out, *k, in).
    order = [0, *range(2, weight.dim()), 1]
    moved = weight.detach().abs().permute(order)
    groups = moved.reshape(-1, m)
    # Ties (e.g. zeros) are resolved by topk's order; any choice keeps exactly n per group.
    keep_idx = groups.topk(n, dim=1).indices
    keep = torch.zeros_like(groups, dtype=torch.bool).scatter_(1, keep_idx, True)
    inverse = [0, weight.dim() - 1, *range(1, weight.dim() - 1)]
    return keep.view(moved.shape).permute(inverse).contiguous()


def nm_masks(
    layers: Mapping[str, nn.Module], n: int, m: int
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """N:M keep-masks for every layer whose input dimension is divisible by m.

    Returns the masks and the names of the layers skipped because it is not.
    """
    check_nm(n, m)
    masks: dict[str, torch.Tensor] = {}
    skipped: list[str] = []
    for name, layer in layers.items():
        weight = weight_of(layer)
        if weight.shape[1] % m:
            skipped.append(name)
        else:
            masks[name] = nm_mask(weight, n, m)
    return masks, skipped
