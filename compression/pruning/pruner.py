"""One pruning facade for the runner, whatever the granularity."""

from __future__ import annotations

from typing import Literal, Protocol, TypeVar

import torch
from torch import nn

from compression.batches import ModelInputs
from compression.errors import ImpossibleTargetError, UnsupportedRecipeError
from compression.pruning.channel import ChannelPruner
from compression.pruning.masks import MaskSet
from compression.pruning.nm import check_nm, nm_masks
from compression.pruning.targets import prunable_layers, weight_of
from compression.pruning.unstructured import (
    Criterion,
    Scope,
    check_sparsity,
    masks_from_scores,
    weight_scores,
)
from compression.spec import PruneSpec

T = TypeVar("T")
Granularity = Literal["unstructured", "channel", "nm"]


class Pruner(Protocol):
    """What the runner drives: prune at the schedule's steps, enforce after optimizer steps."""

    def prune_to(self, target: float) -> bool:
        """Prune up to ``target`` (never un-prune); True if parameters were replaced."""
        ...

    def enforce(self) -> None:
        """Put masked weights back to exactly zero (call after every optimizer step)."""
        ...

    def restore(self, target: float) -> None:
        """Resume at ``target`` after a checkpoint's weights were loaded into the model."""
        ...

    def actual(self) -> float:
        """Achieved sparsity, in the units of the target."""
        ...

    @property
    def skipped(self) -> list[str]:
        """Layers that could not be pruned."""
        ...


def _zero_fraction(layers: dict[str, nn.Module]) -> float:
    weights = [weight_of(layer) for layer in layers.values()]
    total = sum(w.numel() for w in weights)
    return sum(int((w == 0).sum()) for w in weights) / total if total else 0.0


class UnstructuredPruner:
    """Magnitude pruning of single weights, held at zero by masks."""

    def __init__(self, layers: dict[str, nn.Module], *, scope: Scope, criterion: Criterion,
                 max_layer_sparsity: float | None = None) -> None:
        self._layers, self._scope, self._criterion = layers, scope, criterion
        self._cap = max_layer_sparsity
        self._masks = MaskSet()
        self._target = 0.0

    @property
    def skipped(self) -> list[str]:
        return []

    @property
    def masks(self) -> MaskSet:
        return self._masks

    def prune_to(self, target: float) -> bool:
        """Recompute masks at ``target`` over the current weights; never returns True."""
        check_sparsity(target)
        if target <= self._target:
            return False
        scores = weight_scores(self._layers, self._criterion)
        for name in self._masks:
            # Rank what is already pruned below every live weight (even exact zeros), so a
            # higher target always keeps the old masks' zeros.
            scores[name] = scores[name].masked_fill(~self._masks.mask(name), -1.0)
        self._masks.update(self._layers, masks_from_scores(
            scores, target, scope=self._scope, max_layer_sparsity=self._cap))
        self._masks.apply()
        self._target = target
        return False

    def enforce(self) -> None:
        self._masks.apply()

    def restore(self, target: float) -> None:
        """Rebuild the masks from the loaded weights' zeros; the next target starts there."""
        if target > 0:
            self._masks.update(self._layers, _zero_masks(self._layers))
        self._target = target

    def actual(self) -> float:
        """Zero fraction of the weights of the pruned layers."""
        return _zero_fraction(self._layers)


class NMPruner:
    """N:M sparsity on every layer whose input dimension is divisible by m."""

    def __init__(self, layers: dict[str, nn.Module], *, n: int, m: int) -> None:
        self._layers, self._n, self._m = layers, n, m
        self._masks = MaskSet()
        check_nm(n, m)  # fail before any training is spent
        self._skipped = [name for name, layer in layers.items() if weight_of(layer).shape[1] % m]

    @property
    def skipped(self) -> list[str]:
        return list(self._skipped)

    @property
    def masks(self) -> MaskSet:
        return self._masks

    def prune_to(self, target: float) -> bool:
        """Apply n:m once for any ``target`` > 0 (the sparsity is fixed by n and m)."""
        if target <= 0 or len(self._masks):
            return False
        masks, _ = nm_masks(self._layers, self._n, self._m)
        self._masks.update(self._layers, masks)
        self._masks.apply()
        return False

    def enforce(self) -> None:
        self._masks.apply()

    def restore(self, target: float) -> None:
        """Take the loaded weights' zero pattern as the n:m masks once it was applied."""
        if target > 0:
            managed = {name: layer for name, layer in self._layers.items()
                       if name not in self._skipped}
            self._masks.update(managed, _zero_masks(managed))

    def actual(self) -> float:
        """Zero fraction over all managed layers, skipped (dense) ones included."""
        return _zero_fraction(self._layers)


def _zero_masks(layers: dict[str, nn.Module]) -> dict[str, torch.Tensor]:
    """Keep-masks (True = live) from the weights as they are now."""
    return {name: weight_of(layer) != 0 for name, layer in layers.items()}


def _one(value: T | list[T], name: str) -> T:
    """A resolved spec field; a list means the sweep grid was not expanded first."""
    if isinstance(value, list):
        raise UnsupportedRecipeError(f"prune.{name} is a grid axis; expand the sweep first")
    return value


def build_pruner(
    spec: PruneSpec, model: nn.Module, *, example_inputs: ModelInputs, classifier: str
) -> Pruner:
    """The pruner for one resolved prune spec, bound to ``model`` (pruned in place).

    example_inputs: a batch the model accepts (channel pruning traces the model with it).
    classifier: module name of the output layer; its outputs are never removed. Its weights
    are prunable by unstructured and N:M pruning unless ``spec.exclude`` names it, or
    ``spec.prune_classifier`` is false (by default under global scope: ``dense_layers``).
    """
    granularity: Granularity = _one(spec.granularity, "granularity")
    scope: Scope = _one(spec.scope, "scope")
    criterion: Criterion = _one(spec.criterion, "criterion")
    if granularity == "channel":
        channels = ChannelPruner(model, example_inputs=example_inputs, classifier=classifier,
                                 exclude=spec.exclude, scope=scope, criterion=criterion,
                                 max_layer_sparsity=spec.max_layer_sparsity)
        if not channels.layers:
            raise ImpossibleTargetError("no layer's output channels can be removed: all are "
                                        "excluded, the classifier, or coupled to one")
        return channels
    exclude = list(spec.exclude) + ([classifier] if dense_classifier(spec, scope) else [])
    layers = prunable_layers(model, exclude)
    if not layers:
        raise ImpossibleTargetError("no prunable (Linear/Conv) layer is left after exclude")
    if granularity == "nm":
        return NMPruner(layers, n=_one(spec.n, "n"), m=_one(spec.m, "m"))
    if granularity == "unstructured":
        return UnstructuredPruner(layers, scope=scope, criterion=criterion,
                                  max_layer_sparsity=spec.max_layer_sparsity)
    raise UnsupportedRecipeError(f"unknown pruning granularity {granularity!r}")


def dense_classifier(spec: PruneSpec, scope: str) -> bool:
    """Whether unstructured/N:M pruning leaves the classifier's weights whole."""
    if spec.prune_classifier is None:
        return scope == "global" and spec.granularity == "unstructured"
    return not spec.prune_classifier
