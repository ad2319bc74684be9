"""Per-layer pruning sensitivity: which layers can be pruned hardest."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from torch import nn

from compression.batches import ModelInputs
from compression.errors import UnsupportedRecipeError
from compression.pruning.channel import ChannelPruner
from compression.pruning.masks import MaskSet
from compression.pruning.targets import prunable_layers, weight_of
from compression.pruning.unstructured import check_sparsity, magnitude_masks


@dataclass
class SensitivityTable:
    """The primary metric with one layer pruned alone: ``layers[name][i]`` is at ``levels[i]``.

    dense_value: the metric of the unpruned model; metric and goal say which metric it is and
    whether higher is better.
    """

    levels: list[float]
    layers: dict[str, list[float]]
    dense_value: float
    metric: str = "accuracy"
    goal: str = "max"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.metric == "accuracy":
            out["dense_accuracy"] = self.dense_value  # the name readers of version 1 know
        return out


def _at_most_all_but_one(level: float, count: int) -> float:
    """``level``, lowered if it rounds to all ``count`` items: a row should not fail outright."""
    return min(level, (count - 1) / count)


def _prune_unstructured(model: nn.Module, name: str, level: float) -> None:
    layers = {name: dict(model.named_modules())[name]}
    level = _at_most_all_but_one(level, weight_of(layers[name]).numel())
    masks = MaskSet()
    masks.update(layers, magnitude_masks(layers, level, scope="layer", criterion="l1"))
    masks.apply()


def _prune_channels(
    model: nn.Module, name: str, level: float, others: list[str],
    example_inputs: ModelInputs, classifier: str,
) -> bool:
    """Remove ``level`` of ``name``'s output channels; False if its outputs cannot shrink."""
    pruner = ChannelPruner(model, example_inputs=example_inputs, classifier=classifier,
                           exclude=others, scope="layer", criterion="l1")
    if name not in pruner.layers:
        return False
    width = weight_of(dict(model.named_modules())[name]).shape[0]
    pruner.prune_to(_at_most_all_but_one(level, width))
    return True


def sensitivity_table(
    model: nn.Module,
    *,
    levels: Sequence[float],
    evaluate: Callable[[nn.Module], float],
    granularity: Literal["unstructured", "channel"],
    example_inputs: ModelInputs,
    classifier: str,
    exclude: Sequence[str] = (),
    metric: str = "accuracy",
    goal: str = "max",
) -> SensitivityTable:
    """Prune each prunable layer alone at each level (L1 magnitude, no fine-tuning) and evaluate.

    Every (layer, level) works on a deep copy; ``model`` is left untouched.
    evaluate: returns the primary metric of a model (it may switch the copy to eval mode);
    metric and goal name it and its direction in the table.
    granularity: "unstructured" zeroes weights; "channel" removes output channels, so the
    classifier (whose outputs cannot shrink) has no row. A level that would remove every
    weight (channel) of a layer keeps one.
    """
    if granularity not in ("unstructured", "channel"):
        raise UnsupportedRecipeError(f"sensitivity supports unstructured or channel, "
                                     f"not {granularity!r}")
    for level in levels:
        check_sparsity(level)
    names = list(prunable_layers(model, exclude))
    every_layer = list(prunable_layers(model))
    table = SensitivityTable(list(levels), {}, evaluate(copy.deepcopy(model)), metric, goal)
    for name in names:
        row: list[float] = []
        for level in levels:
            pruned = copy.deepcopy(model)
            if granularity == "unstructured":
                _prune_unstructured(pruned, name, level)
            elif not _prune_channels(pruned, name, level, [n for n in every_layer if n != name],
                                     example_inputs, classifier):
                break
            row.append(evaluate(pruned))
        else:
            table.layers[name] = row
    return table
