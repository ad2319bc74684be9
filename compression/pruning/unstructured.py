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
    scores: Mapping[str, torch.Tensor], sparsity: float, *, scope: Scope,
    max_layer_sparsity: float | None = None,
) -> dict[str, torch.Tensor]:
    """Keep-masks zeroing exactly ``round(sparsity * n)`` lowest-scored weights.

    n counts each layer's weights for ``scope="layer"`` and all layers' weights together for
    ``scope="global"``. Global scope keeps the largest weight of every output row (neuron or
    filter): raw magnitudes differ between layers (initialisation scales with fan-in), and
    without this a high global target can wipe out a whole layer and disconnect the network.
    ``max_layer_sparsity`` caps what global ranking may take from any one layer; the weights
    a capped layer keeps are taken from the others. A target that cannot be met (global: more
    than all but one weight per row, or than the caps allow; layer: every weight of a layer)
    raises ImpossibleTargetError.
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
    flat = {name: _protect_row_maxima(s) for name, s in scores.items()}
    total = sum(f.numel() for f in flat.values())
    count = round(sparsity * total)
    rows = sum(s.shape[0] for s in scores.values())
    if count > total - rows:
        raise ImpossibleTargetError(
            f"global sparsity {sparsity:g} would leave some neuron or filter without weights "
            f"(at most {total - rows} of {total} weights can go)"
        )
    # A layer can lose all but each row's largest weight, and no more than its cap.
    caps = {name: f.numel() - scores[name].shape[0] for name, f in flat.items()}
    if max_layer_sparsity is not None:
        caps = {name: min(cap, int(max_layer_sparsity * flat[name].numel()))
                for name, cap in caps.items()}
    taken = _global_counts(flat, count, caps, sparsity)
    return {name: _lowest(flat[name], taken[name]).view_as(s) for name, s in scores.items()}


def _global_counts(flat: Mapping[str, torch.Tensor], count: int, caps: Mapping[str, int],
                   sparsity: float) -> dict[str, int]:
    """How many weights each layer loses when ``count`` go by one global ranking, no layer
    losing more than its cap: a layer the ranking would take past its cap is fixed at the cap
    and the ranking repeats over the other layers for the rest (at most one pass per layer)."""
    fixed: dict[str, int] = {}
    while True:
        free = [name for name in flat if name not in fixed]
        left = count - sum(fixed.values())
        if not free or left <= 0:
            break
        if left > sum(caps[name] for name in free):
            break
        pooled = torch.cat([flat[name] for name in free])
        keep = _lowest(pooled, left)
        sizes = [flat[name].numel() for name in free]
        counts = {name: int((~part).sum())
                  for name, part in zip(free, keep.split_with_sizes(sizes), strict=True)}
        over = [name for name in free if counts[name] > caps[name]]
        if not over:
            return {**fixed, **counts}
        fixed.update((name, caps[name]) for name in over)
    if sum(fixed.values()) == count:
        return {**fixed, **dict.fromkeys((n for n in flat if n not in fixed), 0)}
    raise ImpossibleTargetError(
        f"global sparsity {sparsity:g} cannot be reached with max_layer_sparsity: the capped "
        "layers keep more weights than the others can give")


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
