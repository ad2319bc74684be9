"""Which layers of a model pruning may touch."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from torch import nn

PRUNABLE_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d)


def is_excluded(name: str, exclude: Sequence[str]) -> bool:
    """True when ``name`` or one of its parent modules matches a glob pattern in ``exclude``.

    Matching parents too means ``exclude: [features]`` covers ``features.0`` and the rest of
    the block, which is what a user writing a module name expects.
    """
    parts = name.split(".")
    prefixes = [".".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatchcase(prefix, pattern) for pattern in exclude for prefix in prefixes)


def prunable_layers(model: nn.Module, exclude: Sequence[str] = ()) -> dict[str, nn.Module]:
    """Linear and Conv1d/2d layers of ``model`` in ``named_modules()`` order.

    exclude: fnmatch patterns on module names ("classifier", "features.*"); a layer is left
    out when its name or a parent's name matches.
    """
    return {
        name: module
        for name, module in model.named_modules()
        if isinstance(module, PRUNABLE_TYPES) and not is_excluded(name, exclude)
    }


def weight_of(layer: nn.Module) -> nn.Parameter:
    """The weight parameter of a prunable layer (typed, so callers need no casts)."""
    weight = layer.weight
    if not isinstance(weight, nn.Parameter):
        raise TypeError(f"{type(layer).__name__} has no weight parameter")
    return weight
