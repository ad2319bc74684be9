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


def masks_from_scores(
    scores: Mapping[str, torch.Tensor], sparsity: float, *, scope: Scope
) -> dict[str, torch.Tensor]:
    """Keep-masks zeroing exactly ``round(sparsity * n)`` lowest-scored weights.

    n counts each layer's weights for ``scope="layer"`` and all layers' weights together for
    ``scope="global"``. Raises ImpossibleTargetError rather than empty a layer entirely: a
    layer with no weights left disconnects the network, so no accuracy figure would mean much.
    """
    check_sparsity(sparsity)
    if scope not in ("layer", "global"):
        raise UnsupportedRecipeError(f"unknown pruning scope {scope!r}")
    if scope == "layer":
        masks = {
            name: _lowest(s, round(sparsity * s.numel())).view_as(s) for name, s in scores.items()
        }
    else:
        flat = torch.cat([s.flatten() for s in scores.values()]) if scores else torch.zeros(0)
        keep = _lowest(flat, round(sparsity * flat.numel()))
        sizes = [s.numel() for s in scores.values()]
        masks = {
            name: part.view_as(s)
            for (name, s), part in zip(scores.items(), keep.split_with_sizes(sizes), strict=True)
        }
    for name, mask in masks.items():
        if mask.numel() and not mask.any():
            raise ImpossibleTargetError(
                f"{scope} sparsity {sparsity:g} would remove every weight of layer {name!r}"
            )
    return masks


def magnitude_masks(
    layers: Mapping[str, nn.Module],
    sparsity: float,
    *,
    scope: Scope,
    criterion: Criterion,
) -> dict[str, torch.Tensor]:
    """Keep-masks (True = keep, weight-shaped) removing the smallest-magnitude weights.

    sparsity: fraction of weights zeroed; exactly ``round(sparsity * n)`` per layer ("layer"
    scope) or over all layers together ("global"). Already-zero weights rank lowest, so
    pruning again at a higher sparsity keeps what was pruned before. Biases are never pruned.
    """
    return masks_from_scores(weight_scores(layers, criterion), sparsity, scope=scope)
