"""Unstructured magnitude pruning: which single weights to zero."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import torch
from torch import nn

from compression.errors import ImpossibleTargetError, UnsupportedRecipeError
from compression.pruning.targets import weight_of

Scope = Literal["layer", "global"]
Criterion = Literal["l1", "l2"]


def weight_scores(layers: Mapping[str, nn.Module], criterion: Criterion) -> dict[str, torch.Tensor]:
    """Per-weight importance: |w| for "l1", w² for "l2" (the two rank single weights alike)."""
    if criterion not in ("l1", "l2"):
        raise UnsupportedRecipeError(f"unknown pruning criterion {criterion!r}")
    scores = {}
    for name, layer in layers.items():
        weight = weight_of(layer).detach()
        scores[name] = weight.abs() if criterion == "l1" else weight.square()
    return scores


def check_sparsity(sparsity: float) -> None:
    """Reject a sparsity outside [0, 1)."""
    if not 0.0 <= sparsity < 1.0:
        raise ImpossibleTargetError(f"sparsity must be in [0, 1), got {sparsity}")


def _lowest(scores: torch.Tensor, count: int) -> torch.Tensor:
    """Bool keep-mask over ``scores`` (flat) with exactly ``count`` lowest entries False."""
    keep = torch.ones(scores.numel(), dtype=torch.bool, device=scores.device)
    if count > 0:
        # A stable sort makes ties (typically exact zeros) resolve the same way every time.
        order = torch.argsort(scores.flatten(), stable=True)
        keep[order[:count]] = False
    return keep


def _protect_row_maxima(scores: torch.Tensor) -> torch.Tensor:
    """Flat scores with each output row's largest score raised to +inf (never pruned)."""
    rows = scores.reshape(scores.shape[0], -1)
    top = torch.zeros_like(rows, dtype=torch.bool).scatter_(1, rows.argmax(1, keepdim=True), True)
    return rows.masked_fill(top, float("inf")).flatten()


def masks_from_scores(
    scores: Mapping[str, torch.Tensor], sparsity: float, *, scope: Scope
) -> dict[str, torch.Tensor]:
    """Keep-masks zeroing exactly ``round(sparsity * n)`` lowest-scored weights.

    n counts each layer's weights for ``scope="layer"`` and all layers' weights together for
    ``scope="global"``. Global scope keeps the largest weight of every output row (neuron or
    filter): raw magnitudes differ between layers (initialisation scales with fan-in), and
    without this a high global target can wipe out a whole layer and disconnect the network.
    A target that cannot be met (global: more than all but one weight per row; layer: every
    weight of a layer) raises ImpossibleTargetError.
    """
    check_sparsity(sparsity)
    if scope not in ("layer", "global"):
        raise UnsupportedRecipeError(f"unknown pruning scope {scope!r}")
    if scope == "layer":
        masks = {}
        for name, s in scores.items():
            count = round(sparsity * s.numel())
            if count and count == s.numel():
                raise ImpossibleTargetError(
                    f"sparsity {sparsity:g} would remove every weight of layer {name!r}"
                )
            masks[name] = _lowest(s, count).view_as(s)
        return masks
    if not scores:
        return {}
    flat = torch.cat([_protect_row_maxima(s) for s in scores.values()])
    count = round(sparsity * flat.numel())
    rows = sum(s.shape[0] for s in scores.values())
    if count > flat.numel() - rows:
        raise ImpossibleTargetError(
            f"global sparsity {sparsity:g} would leave some neuron or filter without weights "
            f"(at most {flat.numel() - rows} of {flat.numel()} weights can go)"
        )
    keep = _lowest(flat, count)
    sizes = [s.numel() for s in scores.values()]
    return {
        name: part.view_as(s)
        for (name, s), part in zip(scores.items(), keep.split_with_sizes(sizes), strict=True)
    }


def magnitude_masks(
    layers: Mapping[str, nn.Module],
    sparsity: float,
    *,
    scope: Scope,
    criterion: Criterion,
) -> dict[str, torch.Tensor]:
    """Keep-masks (True = keep, weight-shaped) removing the smallest-magnitude weights.

    sparsity: fraction of weights zeroed; exactly ``round(sparsity * n)`` per layer ("layer"
    scope) or over all layers together ("global", which keeps each output row's largest
    weight). Already-zero weights rank lowest, so pruning again at a higher sparsity keeps
    what was pruned before. Biases are never pruned.
    """
    return masks_from_scores(weight_scores(layers, criterion), sparsity, scope=scope)
