"""Channel pruning: physically remove filters/neurons and everything coupled to them.

Torch-Pruning's dependency graph finds, for each layer's output channels, the group of
parameters that must shrink with them (the following BatchNorm, the next layer's inputs, the
Linear columns behind a Flatten). Importance is the L1 or L2 norm of each filter's (or
neuron's) own weights, summed over the layers whose outputs are coupled in one group.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
import torch_pruning as tp
from torch import nn

from compression.batches import ModelInputs, forward_logits
from compression.errors import ImpossibleTargetError, UnsupportedRecipeError
from compression.pruning.targets import PRUNABLE_TYPES, is_excluded, weight_of
from compression.pruning.unstructured import Criterion, Scope


def build_graph(model: nn.Module, example_inputs: ModelInputs) -> Any:
    """Trace ``model`` into a Torch-Pruning dependency graph, leaving its train/eval mode as is.

    The trace runs in eval mode, so that it does not move BatchNorm's running statistics.
    """
    was_training = model.training
    model.eval()
    try:
        # An explicit forward_fn: by default Torch-Pruning first tries model(*inputs), which
        # for a batch of one silently feeds the unbatched sample; and inputs may be a mapping
        # (model(**inputs)) and outputs an object holding the logits.
        with torch.enable_grad():
            return tp.DependencyGraph().build_dependency(
                model, example_inputs, forward_fn=forward_logits, verbose=False
            )
    finally:
        model.train(was_training)


class ChannelPruner:
    """Removes output channels of Linear/Conv layers until a fraction of the original is gone.

    Targets are measured against the dense model: ``prune_to(0.25)`` then ``prune_to(0.5)``
    removes half of the original channels in total. The classifier's outputs and the outputs
    of ``exclude``d layers are never removed (their inputs shrink with the layer before).
    scope "layer" removes the same fraction from every layer; "global" ranks all channels
    together after dividing each layer's scores by their mean, so that layers of different
    width and fan-in compare (as Torch-Pruning's default normalizer does). Either way a layer
    keeps at least one channel; a target that needs more raises ImpossibleTargetError.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        example_inputs: ModelInputs,
        classifier: str,
        exclude: Sequence[str] = (),
        scope: Scope = "layer",
        criterion: Criterion = "l1",
    ) -> None:
        modules = dict(model.named_modules())
        if classifier not in modules:
            raise UnsupportedRecipeError(f"the model has no classifier module {classifier!r}")
        if scope not in ("layer", "global") or criterion not in ("l1", "l2"):
            raise UnsupportedRecipeError(f"unknown scope/criterion {scope!r}/{criterion!r}")
        self._scope, self._criterion = scope, criterion
        self._ignored = [modules[classifier]] + [
            m for name, m in modules.items()
            if isinstance(m, PRUNABLE_TYPES) and is_excluded(name, exclude)
        ]
        self._graph = build_graph(model, example_inputs)
        self._names = {m: name for name, m in modules.items()}
        # Original width of each group's root layer: the denominator of every target.
        self._original: dict[nn.Module, int] = {}
        coupled: set[nn.Module] = set()
        for group in self._groups():
            root = group[0].dep.target.module
            self._original[root] = weight_of(root).shape[0]
            coupled.update(self._out_layers(group))
        self._skipped = [
            name for name, m in modules.items()
            if isinstance(m, PRUNABLE_TYPES) and m not in self._ignored and m not in coupled
        ]

    @property
    def layers(self) -> list[str]:
        """Names of the layers whose output channels this pruner removes, in model order."""
        return [name for m, name in self._names.items() if m in self._original]

    @property
    def skipped(self) -> list[str]:
        """Prunable layers whose outputs are coupled to an ignored layer, so they stay whole."""
        return list(self._skipped)

    def enforce(self) -> None:
        """Nothing to hold down: removed channels no longer exist."""

    def restore(self, target: float) -> None:
        """Nothing to rebuild: the loaded checkpoint already gave the layers their widths."""

    def actual(self) -> float:
        """Fraction of the original prunable channels removed so far."""
        original = sum(self._original.values())
        current = sum(weight_of(m).shape[0] for m in self._original)
        return 1.0 - current / original if original else 0.0

    def prune_to(self, target: float) -> bool:
        """Remove channels until ``target`` of the original ones are gone; True if any were."""
        if not 0.0 <= target < 1.0:
            raise ImpossibleTargetError(f"channel sparsity must be in [0, 1), got {target}")
        scored = [(group, self._scores(group)) for group in self._groups()]
        if self._scope == "layer":
            plan = self._plan_per_layer(scored, target)
        else:
            plan = self._plan_global(scored, target)
        for group, idxs in plan:
            group.prune(idxs=idxs)
        return bool(plan)

    def _groups(self) -> Iterator[Any]:
        return iter(self._graph.get_all_groups(
            ignored_layers=self._ignored, root_module_types=PRUNABLE_TYPES
        ))

    def _out_items(self, group: Any) -> list[Any]:
        """Group items that remove output channels of a Linear/Conv layer."""
        return [
            item for item in group
            if isinstance(item.dep.target.module, PRUNABLE_TYPES)
            and self._graph.is_out_channel_pruning_fn(item.dep.handler)
        ]

    def _out_layers(self, group: Any) -> list[nn.Module]:
        return [item.dep.target.module for item in self._out_items(group)]

    def _scores(self, group: Any) -> torch.Tensor:
        """Per root channel: the norm of each coupled layer's filter, summed over the layers."""
        scores = torch.zeros(len(group[0].idxs))
        for item in self._out_items(group):
            rows = weight_of(item.dep.target.module).detach().flatten(1)[item.idxs].float().cpu()
            norms = rows.abs().sum(1) if self._criterion == "l1" else rows.norm(dim=1)
            scores.index_add_(0, torch.as_tensor(item.root_idxs), norms)
        return scores

    def _width(self, group: Any) -> tuple[int, int]:
        """(original, current) channel count of a group's root layer."""
        root = group[0].dep.target.module
        return self._original[root], weight_of(root).shape[0]

    def _plan_per_layer(
        self, scored: list[tuple[Any, torch.Tensor]], target: float
    ) -> list[tuple[Any, list[int]]]:
        plan = []
        for group, scores in scored:
            original, current = self._width(group)
            wanted = round(target * original)
            if wanted >= original:
                name = self._names[group[0].dep.target.module]
                raise ImpossibleTargetError(
                    f"channel sparsity {target:g} would remove all {original} channels of {name!r}"
                )
            extra = wanted - (original - current)
            if extra > 0:
                plan.append((group, _lowest(scores, extra)))
        return plan

    def _plan_global(
        self, scored: list[tuple[Any, torch.Tensor]], target: float
    ) -> list[tuple[Any, list[int]]]:
        widths = [self._width(group) for group, _ in scored]
        original = sum(o for o, _ in widths)
        extra = round(target * original) - sum(o - c for o, c in widths)
        if extra <= 0:
            return []
        normalized = [s / s.mean() if s.mean() > 0 else s for _, s in scored]
        owner = torch.cat([torch.full((len(s),), i) for i, s in enumerate(normalized)])
        index = torch.cat([torch.arange(len(s)) for s in normalized])
        order = torch.argsort(torch.cat(normalized), stable=True)
        room = [current - 1 for _, current in widths]  # every layer keeps one channel
        chosen: list[list[int]] = [[] for _ in scored]
        taken = 0
        for k in order.tolist():
            if taken == extra:
                break
            i = int(owner[k])
            if room[i] > 0:
                chosen[i].append(int(index[k]))
                room[i] -= 1
                taken += 1
        if taken < extra:
            raise ImpossibleTargetError(
                f"channel sparsity {target:g} cannot be reached without emptying a layer"
            )
        return [(group, idxs) for (group, _), idxs in zip(scored, chosen, strict=True) if idxs]


def _lowest(scores: torch.Tensor, count: int) -> list[int]:
    """Indices of the ``count`` lowest scores (stable, so ties go to the lower index)."""
    order = torch.argsort(scores, stable=True)
    return [int(i) for i in order[:count]]
