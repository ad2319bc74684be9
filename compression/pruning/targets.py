"""Which layers of a model pruning may touch."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

import torch
from torch import nn

from compression.batches import ModelInputs, call_model
from compression.errors import TaskContractError

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


def output_layer(model: nn.Module, example_inputs: ModelInputs) -> str:
    """Name of the last Linear/Conv layer a forward pass over ``example_inputs`` runs: the
    classifier of a task that does not name one."""
    names = {module: name for name, module in model.named_modules()}
    ran: list[str] = []
    handles = [m.register_forward_hook(lambda mod, _i, _o: ran.append(names[mod]))
               for m in names if isinstance(m, PRUNABLE_TYPES)]
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            call_model(model, example_inputs)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    if not ran:
        raise TaskContractError("the model runs no Linear or Conv layer: nothing to prune")
    return ran[-1]
