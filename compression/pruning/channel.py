"""Channel pruning: physically remove filters/neurons and everything coupled to them.

Torch-Pruning's dependency graph finds, for each layer's output channels, the group of
parameters that must shrink with them (the following BatchNorm, the next layer's inputs, the
Linear columns behind a Flatten). Importance is the L1 or L2 norm of each filter's (or
neuron's) own weights, summed over the layers whose outputs are coupled in one group.
A model with attention modules is planned head by head (``compression.pruning.heads``), and
its Hugging Face config, if any, takes the new shapes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
import torch_pruning as tp
from torch import nn

from compression.batches import ModelInputs, forward_logits
from compression.errors import ImpossibleTargetError, UnsupportedRecipeError
from compression.modelconfig import hf_config, width_fields, write_shapes
from compression.pruning.heads import HeadPlan, find_attention, head_shape, lowest_scores
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

    A model with attention modules loses whole heads, the same number in every layer, with
    the residual width (``compression.pruning.heads``); scope "global" would give layers
    different widths, which no config can describe, so it is refused there.
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
        max_layer_sparsity: float | None = None,
    ) -> None:
        modules = dict(model.named_modules())
        if classifier not in modules:
            raise UnsupportedRecipeError(f"the model has no classifier module {classifier!r}")
        if scope not in ("layer", "global") or criterion not in ("l1", "l2"):
            raise UnsupportedRecipeError(f"unknown scope/criterion {scope!r}/{criterion!r}")
        self._scope, self._criterion = scope, criterion
        self._cap = max_layer_sparsity
        self._ignored = [modules[classifier]] + [
            m for name, m in modules.items()
            if isinstance(m, PRUNABLE_TYPES) and is_excluded(name, exclude)
        ]
        self._model, self._example = model, example_inputs
        self._graph = build_graph(model, example_inputs)
        self._names = {m: name for name, m in modules.items()}
        groups = list(self._groups())
        self._heads = self._head_plan(model, groups, scope)
        self._config = hf_config(model)
        self._config_widths = {} if self._config is None else width_fields(self._config)
        whole = set(self._heads.whole) if self._heads is not None else set()
        # Original width of each group's root layer: the denominator of every target.
        self._original: dict[nn.Module, int] = {}
        coupled: set[nn.Module] = set()
        for group in groups:
            root = group[0].dep.target.module
            if root not in whole:
                self._original[root] = weight_of(root).shape[0]
                coupled.update(self._out_layers(group))
        self._skipped = [
            name for name, m in modules.items()
            if isinstance(m, PRUNABLE_TYPES) and m not in self._ignored and m not in coupled
        ]

    def _head_plan(self, model: nn.Module, groups: list[Any], scope: Scope) -> HeadPlan | None:
        attention = find_attention(model)
        if not attention:
            return None
        if scope == "global":
            raise UnsupportedRecipeError(
                "channel pruning with scope 'global' gives layers different widths, but a "
                "model with attention heads needs the same head count and intermediate size "
                "in every layer (its config says one of each): use scope 'layer'")
        return HeadPlan(attention, groups, self._out_layers, self._names)

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
        """Re-trace after a checkpoint's weights gave the layers their widths in place: the
        graph holds parameters that are not in a layer (a ViT's position embeddings) by
        identity, and loading replaced them. Attention modules and the config take the
        loaded head counts and widths."""
        if target > 0:
            self._graph = build_graph(self._model, self._example)
            self._sync()

    def actual(self) -> float:
        """Fraction of the original prunable channels removed so far."""
        original = sum(self._original.values())
        current = sum(weight_of(m).shape[0] for m in self._original)
        return 1.0 - current / original if original else 0.0

    def prune_to(self, target: float) -> bool:
        """Remove channels until ``target`` of the original ones are gone; True if any were."""
        if not 0.0 <= target < 1.0:
            raise ImpossibleTargetError(f"channel sparsity must be in [0, 1), got {target}")
        scored = [(group, self._scores(group)) for group in self._groups()
                  if group[0].dep.target.module in self._original]
        if self._heads is not None:
            plan = self._heads.plan(scored, target, self._width)
        elif self._scope == "layer":
            plan = self._plan_per_layer(scored, target)
        else:
            plan = self._plan_global(scored, target)
        for group, idxs in plan:
            group.prune(idxs=idxs)
        if plan:
            self._sync()
        return bool(plan)

    def _sync(self) -> None:
        """Attention modules and the model's config take the widths the layers now have."""
        if self._heads is None:
            return
        self._heads.sync()
        if self._config is None:
            return
        widths: dict[int, set[int]] = {}
        for root, original in self._original.items():
            if self._heads.roles.get(root) != "heads":
                widths.setdefault(original, set()).add(weight_of(root).shape[0])
        shapes = {head_shape(h.module) for h in self._heads.heads.values()}
        heads, size = shape if len(shapes) == 1 and (shape := shapes.pop()) else (None, None)
        write_shapes(self._config, self._config_widths, widths=widths, heads=heads,
                     head_size=size)

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
                plan.append((group, lowest_scores(scores, extra)))
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
        # Every layer keeps one channel, and loses at most max_layer_sparsity of its original.
        room = [current - 1 if self._cap is None else
                min(current - 1, int(self._cap * o) - (o - current)) for o, current in widths]
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
                + ("" if self._cap is None else f" or exceeding max_layer_sparsity {self._cap:g}")
            )
        return [(group, idxs) for (group, _), idxs in zip(scored, chosen, strict=True) if idxs]
