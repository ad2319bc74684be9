"""Weight masks that keep pruned weights at zero through fine-tuning."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import torch
from torch import nn

from compression.pruning.targets import weight_of


class MaskSet:
    """Boolean masks (True = keep) on the weights of named layers.

    Pruned weights are held at zero by re-applying the masks after every optimizer step
    rather than by hooks on the gradient: Adam's momentum and weight decay would otherwise
    move a weight whose gradient is zero, and re-zeroing is exact whatever the optimizer does.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[nn.Module, torch.Tensor]] = {}
        # Each mask as 0/1 in the weight's dtype, made once: apply() runs after every optimizer
        # step, and a multiply by a float mask is ~10x faster than masked_fill_ with a bool one.
        self._keep: dict[str, torch.Tensor] = {}

    def set(self, name: str, layer: nn.Module, mask: torch.Tensor) -> None:
        """Install (or replace) the mask of one layer; the mask must match the weight's shape."""
        weight = weight_of(layer)
        if mask.shape != weight.shape or mask.dtype != torch.bool:
            raise ValueError(
                f"mask for {name!r} must be bool of shape {tuple(weight.shape)}, "
                f"got {mask.dtype} {tuple(mask.shape)}"
            )
        self._entries[name] = (layer, mask.to(weight.device))
        self._keep[name] = self._entries[name][1].to(weight.dtype)

    def update(self, layers: Mapping[str, nn.Module], masks: Mapping[str, torch.Tensor]) -> None:
        """Install a mask for every name in ``masks``, taking the layer from ``layers``."""
        for name, mask in masks.items():
            self.set(name, layers[name], mask)

    def mask(self, name: str) -> torch.Tensor:
        return self._entries[name][1]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def apply(self) -> None:
        """Zero every masked weight in place."""
        with torch.no_grad():
            for name, (layer, _) in self._entries.items():
                # One multiply per layer on the hot path: a negative weight becomes -0.0, which
                # equals 0; clear_negative_zeros() makes them +0.0 once, before saving. A NaN
                # weight stays NaN: training diverged.
                weight_of(layer).mul_(self._keep[name])

    def counts(self) -> tuple[int, int]:
        """(zero weights, total weights) over the masked layers."""
        zeros = total = 0
        for layer, _ in self._entries.values():
            weight = weight_of(layer)
            zeros += int((weight == 0).sum())
            total += weight.numel()
        return zeros, total

    def sparsity(self) -> float:
        """Zero fraction of the weights of the masked layers (0.0 when there are none)."""
        zeros, total = self.counts()
        return zeros / total if total else 0.0


def clear_negative_zeros(model: nn.Module) -> None:
    """Turn -0.0 into +0.0 in every floating parameter (x + 0.0 leaves all else as it is).

    The sparse file format keeps -0.0 as a value (it restores exact bits), so masked weights
    must be +0.0 before a pruned model is saved.
    """
    with torch.no_grad():
        for param in model.parameters():
            if param.is_floating_point():
                param.add_(0.0)
