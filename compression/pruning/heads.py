"""Head-aware channel pruning for models with attention modules.

Removing arbitrary channels of a query/key/value layer breaks an attention module: it reads
its outputs as ``heads × head size`` and would silently regroup them. A Hugging Face config
also rebuilds every layer with the same head count and intermediate size, and BERT derives
the head size as ``hidden_size / num_attention_heads``. So at a target ``r`` this module
plans one consistent shape for the whole model:

- every attention module loses ``round(r × heads)`` whole heads (its q, k and v outputs and
  the output projection's inputs, as Torch-Pruning's dependency graph couples them);
- the residual width (embeddings, LayerNorms, every Linear coupled to the residual stream)
  shrinks by the same fraction as the heads, so the head size stays;
- a group as wide as the residual stream but outside it (BERT's pooler) follows it;
- every other group (the MLP's intermediate units) loses ``round(r × width)`` channels.

Rounding is Python's ``round`` (ties to even), as for plain channels: 3 heads at 0.5 lose 2.
The achieved fraction of channels is reported (``ChannelPruner.actual``, the summary's
``pruning.achieved``); a target that would remove every head raises ImpossibleTargetError.
When the user excludes the attention modules, heads and residual stay whole and only the
other groups shrink. Excluding some attention modules but not others, or the residual
stream but not the heads, cannot be expressed in a config and is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from compression.errors import ImpossibleTargetError, UnsupportedRecipeError
from compression.pruning.targets import weight_of

HEAD_ATTRS = ("num_attention_heads", "num_heads", "n_heads")
HEAD_SIZE_ATTRS = ("attention_head_size", "head_dim", "head_size")
# heads: an attention module's q/k/v group; residual: coupled to an attention module's
# input or output width; follows: as wide as the residual stream, outside it; width: the rest.
Role = Literal["heads", "residual", "follows", "width"]


def _int_attr(module: nn.Module, names: Sequence[str]) -> int | None:
    return next((value for a in names
                 if isinstance(value := getattr(module, a, None), int)
                 and not isinstance(value, bool)), None)


def head_shape(module: nn.Module) -> tuple[int, int] | None:
    """(heads, head size) of a module that declares both Hugging Face style, else None."""
    heads, size = _int_attr(module, HEAD_ATTRS), _int_attr(module, HEAD_SIZE_ATTRS)
    return None if heads is None or size is None else (heads, size)


def find_attention(model: nn.Module) -> dict[str, nn.Module]:
    """Modules that declare their heads (``num_attention_heads`` and ``attention_head_size``
    or ``head_dim``, or the like), by name, in model order."""
    return {name: m for name, m in model.named_modules() if head_shape(m) is not None}


def set_heads(module: nn.Module, heads: int) -> None:
    """Give an attention module a new head count (its head size stays): every heads
    attribute it has, and ``all_head_size``, which BERT's forward pass sizes outputs by."""
    shape = head_shape(module)
    if shape is None:
        raise TypeError(f"{type(module).__name__} declares no attention heads")
    values = dict.fromkeys(HEAD_ATTRS, heads) | {"all_head_size": heads * shape[1]}
    for attr, value in values.items():
        if isinstance(getattr(module, attr, None), int):
            setattr(module, attr, value)


@dataclass
class Head:
    """An attention module whose q/k/v outputs form one dependency group."""

    name: str
    module: nn.Module
    heads: int  # before any pruning
    head_size: int
    projections: list[nn.Module]  # q, k and v


class HeadPlan:
    """Which role each dependency group plays in a transformer, and the widths it gets.

    Built once from the dense model's groups; ``roles`` maps each group's root layer to its
    role, and ``whole`` lists roots that stay whole (the residual stream and what follows it
    when the heads cannot be removed).
    """

    def __init__(self, attention: dict[str, nn.Module], groups: Sequence[Any],
                 out_layers: Callable[[Any], list[nn.Module]],
                 names: dict[nn.Module, str]) -> None:
        self.heads: dict[nn.Module, Head] = {}  # head group root -> its attention module
        self.roles: dict[nn.Module, Role] = {}
        self._names = names
        owner = {m: a for a, module in attention.items() for m in _linears(module, a, names)}
        # The residual stream is as wide as the attention's inputs, whether or not its own
        # group can be pruned (excluded attention blocks it).
        residual_widths = {m.in_features for m in owner if isinstance(m, nn.Linear)}
        for group in groups:
            root = group[0].dep.target.module
            outs = out_layers(group)
            found = {owner.get(m) for m in outs}
            only = found.pop() if len(found) == 1 else None
            if only is not None:  # every output is a layer of one attention module
                self.roles[root] = "heads"
                self.heads[root] = self._head(only, attention[only], outs, names)
            elif any(item.dep.target.module in owner for item in group):
                self.roles[root] = "residual"
        for group in groups:
            root = group[0].dep.target.module
            if root not in self.roles:
                wide = weight_of(root).shape[0] in residual_widths
                self.roles[root] = "follows" if wide else "width"
        headed = {h.name for h in self.heads.values()}
        if len(headed) != len(self.heads):
            raise UnsupportedRecipeError(
                "head-aware pruning needs each attention module's query, key and value "
                "layers in one dependency group; they are split in "
                f"{sorted({h.name for h in self.heads.values()})}")
        if headed and headed != set(attention):
            missing = sorted(set(attention) - headed)
            raise UnsupportedRecipeError(
                f"attention modules {missing} keep their heads (excluded, or without separate "
                "query/key/value Linear layers) while others lose heads: a config needs the "
                "same head count in every layer. Exclude every attention module "
                "('*.attention.*') or none")
        self.heads_on = bool(headed)
        if self.heads_on and "residual" not in self.roles.values():
            raise UnsupportedRecipeError(
                "heads can only be removed together with the residual width (so that the "
                "head size stays), and a layer coupled to the residual stream is excluded: "
                "exclude every attention module ('*.attention.*') or none of that stream")
        self.whole = [] if self.heads_on else [
            root for root, role in self.roles.items() if role in ("residual", "follows")]

    @staticmethod
    def _head(name: str, module: nn.Module, outs: list[nn.Module],
              names: dict[nn.Module, str]) -> Head:
        shape = head_shape(module)
        if shape is None or any(weight_of(m).shape[0] != shape[0] * shape[1] for m in outs):
            raise UnsupportedRecipeError(
                f"attention module {name!r}: its layers {[names[m] for m in outs]} are not "
                f"heads × head size wide ({shape}); its heads cannot be told apart")
        return Head(name, module, shape[0], shape[1], outs)

    def kept_heads(self, target: float) -> dict[nn.Module, int]:
        """Heads each head group keeps at ``target``: all but ``round(target × heads)``."""
        kept = {}
        for root, head in self.heads.items():
            keep = head.heads - round(target * head.heads)
            if keep < 1:
                raise ImpossibleTargetError(
                    f"channel sparsity {target:g} would remove all {head.heads} heads of "
                    f"{head.name!r}")
            kept[root] = keep
        return kept

    def kept_fraction(self, target: float) -> float:
        """Fraction of the residual width kept at ``target``: that of the heads."""
        fractions = {keep / self.heads[root].heads
                     for root, keep in self.kept_heads(target).items()}
        if len(fractions) > 1:
            raise ImpossibleTargetError(
                f"channel sparsity {target:g} keeps different fractions of the heads of "
                "different attention modules; the residual width cannot follow all of them")
        return fractions.pop() if fractions else 1.0

    def plan(self, scored: list[tuple[Any, torch.Tensor]], target: float,
             widths: Callable[[Any], tuple[int, int]]) -> list[tuple[Any, list[int]]]:
        """(group, channel indices to remove) at ``target``; ``widths(group)`` gives the
        (original, current) width of a group's root layer."""
        kept = self.kept_heads(target) if self.heads_on else {}
        fraction = self.kept_fraction(target) if self.heads_on else 1.0
        plan = []
        for group, scores in scored:
            root = group[0].dep.target.module
            role = self.roles.get(root, "width")
            original, current = widths(group)
            if role == "heads":
                idxs = self._drop_heads(self.heads[root], scores, kept[root])
            elif role in ("residual", "follows"):
                if not self.heads_on:
                    continue
                idxs = lowest_scores(scores, current - round(original * fraction))
            else:
                wanted = round(target * original)
                if wanted >= original:
                    raise ImpossibleTargetError(
                        f"channel sparsity {target:g} would remove all {original} channels "
                        f"of {self._names.get(root, type(root).__name__)!r}")
                idxs = lowest_scores(scores, wanted - (original - current))
            if idxs:
                plan.append((group, idxs))
        return plan

    @staticmethod
    def _drop_heads(head: Head, scores: torch.Tensor, keep: int) -> list[int]:
        """Channels of the lowest-scoring heads, whole, down to ``keep`` heads."""
        current = len(scores) // head.head_size
        per_head = scores.reshape(current, head.head_size).sum(1)
        return [h * head.head_size + j for h in sorted(lowest_scores(per_head, current - keep))
                for j in range(head.head_size)]

    def sync(self) -> None:
        """Give every pruned attention module the head count its q/k/v layers now have."""
        for head in self.heads.values():
            set_heads(head.module, weight_of(head.projections[0]).shape[0] // head.head_size)


def _linears(module: nn.Module, name: str, names: dict[nn.Module, str]) -> list[nn.Module]:
    """Linear layers inside an attention module (nn.Linear, whatever its name)."""
    return [m for m in module.modules() if isinstance(m, nn.Linear) and m in names
            and names[m].startswith(f"{name}.")]


def lowest_scores(scores: torch.Tensor, count: int) -> list[int]:
    """Indices of the ``count`` lowest scores (stable, so ties go to the lower index)."""
    if count <= 0:
        return []
    order = torch.argsort(scores, stable=True)
    return [int(i) for i in order[:count]]
