"""Batches of any structure: how a batch becomes model inputs, and outputs become logits.

A model's inputs are a tensor, a tuple of tensors or a mapping of names to tensors, of any
dtype (token ids are int64). ``call_model`` calls the model the way each shape asks
(``model(x)``, ``model(*xs)``, ``model(**named)``) and ``logits_of`` takes the logits from
what it returns (a tensor, an object with ``.logits`` such as a Hugging Face output, a
mapping with ``"logits"``, or a tuple whose first element is the logits).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from compression.errors import TaskContractError

# A tensor, a tuple of tensors, or a mapping of input names to tensors.
ModelInputs = Any
# What a data loader yields: (inputs, targets), a mapping with a "labels" entry, or inputs.
Batch = Any
TARGET_KEYS = ("labels", "label", "targets", "target", "y")
SINGLE_INPUT = "input"  # the ONNX input name of a model that takes one tensor


def split_batch(batch: Batch) -> tuple[ModelInputs, Any]:
    """(inputs, targets) of a batch: the default ``Task.split_batch``.

    - a mapping: its target key (``labels``, ``label``, ``targets``, ``target`` or ``y``)
      is the target, every other entry an input passed by name;
    - a tuple or list: the last element is the target, the others are the inputs;
    - a tensor: inputs only (the target is None).
    """
    if isinstance(batch, Mapping):
        key = next((k for k in TARGET_KEYS if k in batch), None)
        inputs = {k: v for k, v in batch.items() if k != key}
        return inputs, None if key is None else batch[key]
    if isinstance(batch, list | tuple):
        if len(batch) == 1:
            return batch[0], None
        if len(batch) == 2:
            return batch[0], batch[1]
        return tuple(batch[:-1]), batch[-1]
    return batch, None


def call_model(model: Callable[..., Any], inputs: ModelInputs) -> Any:
    """Run ``model`` on inputs of any structure."""
    if isinstance(inputs, Mapping):
        return model(**inputs)
    if isinstance(inputs, tuple):
        return model(*inputs)
    return model(inputs)


def logits_of(output: Any) -> torch.Tensor:
    """The logits in a model's output; ``TaskContractError`` if there are none."""
    if isinstance(output, torch.Tensor):
        return output
    logits = getattr(output, "logits", None)
    if isinstance(logits, torch.Tensor):
        return logits
    found = output.get("logits") if isinstance(output, Mapping) else None
    if isinstance(found, torch.Tensor):
        return found
    if isinstance(output, list | tuple) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    raise TaskContractError(
        f"the model returned a {type(output).__name__}: return a tensor of logits, or an "
        "object with a .logits tensor")


def forward_logits(model: Callable[..., Any], inputs: ModelInputs) -> torch.Tensor:
    """``logits_of(call_model(model, inputs))``."""
    return logits_of(call_model(model, inputs))


def model_device(model: nn.Module) -> torch.device:
    """Where ``model``'s parameters live (the CPU for a model without parameters)."""
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def apply(fn: Callable[[torch.Tensor], torch.Tensor], value: Any) -> Any:
    """``value`` with ``fn`` applied to every tensor in it (mappings, tuples, lists)."""
    if isinstance(value, torch.Tensor):
        return fn(value)
    if isinstance(value, Mapping):
        return {k: apply(fn, v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(apply(fn, v) for v in value)
    if isinstance(value, list):
        return [apply(fn, v) for v in value]
    return value


def to_device(value: Any, device: torch.device) -> Any:
    """Every tensor in ``value`` on ``device`` (a no-op for tensors already there)."""
    return apply(lambda t: t.to(device, non_blocking=True), value)


def tensors_of(inputs: ModelInputs) -> list[torch.Tensor]:
    """The tensors of ``inputs`` in a fixed order (mapping order, tuple order)."""
    if isinstance(inputs, torch.Tensor):
        return [inputs]
    if isinstance(inputs, Mapping):
        return [t for v in inputs.values() for t in tensors_of(v)]
    if isinstance(inputs, list | tuple):
        return [t for v in inputs for t in tensors_of(v)]
    return []


def batch_len(inputs: ModelInputs) -> int:
    """Samples in a batch: the first dimension of its first tensor."""
    tensors = tensors_of(inputs)
    if not tensors or tensors[0].dim() == 0:
        raise TaskContractError("a batch's inputs must hold tensors with a batch dimension")
    return int(tensors[0].shape[0])


def take(inputs: ModelInputs, count: int) -> ModelInputs:
    """The first ``count`` samples of a batch."""
    return apply(lambda t: t[:count], inputs)


def resize(inputs: ModelInputs, count: int) -> ModelInputs:
    """A batch of exactly ``count`` samples: cut, or repeated cyclically from the start."""
    have = batch_len(inputs)
    if have >= count:
        return take(inputs, count)
    reps = -(-count // have)

    def tile(t: torch.Tensor) -> torch.Tensor:
        return t.repeat(reps, *([1] * (t.dim() - 1)))[:count]

    return apply(tile, inputs)


def concat(batches: Sequence[ModelInputs]) -> ModelInputs:
    """One batch from several of the same structure."""
    first = batches[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(list(batches))
    if isinstance(first, Mapping):
        return {k: concat([b[k] for b in batches]) for k in first}
    if isinstance(first, tuple | list):
        return type(first)(concat([b[i] for b in batches]) for i in range(len(first)))
    raise TaskContractError(f"cannot join batches of {type(first).__name__}")


def input_names(inputs: ModelInputs) -> list[str]:
    """Names of a model's inputs in an ONNX graph: the mapping's keys, ``input_<i>`` for a
    tuple, ``input`` for one tensor."""
    if isinstance(inputs, torch.Tensor):
        return [SINGLE_INPUT]
    if isinstance(inputs, Mapping):
        if not all(isinstance(v, torch.Tensor) for v in inputs.values()):
            raise TaskContractError("named model inputs must each be a tensor")
        return [str(k) for k in inputs]
    if isinstance(inputs, tuple | list) and all(isinstance(v, torch.Tensor) for v in inputs):
        return [f"input_{i}" for i in range(len(inputs))]
    raise TaskContractError("model inputs must be a tensor, a tuple of tensors or a mapping "
                            "of names to tensors")


def onnx_feed(inputs: ModelInputs) -> dict[str, np.ndarray[Any, Any]]:
    """ONNX Runtime's feed for ``inputs``, named as ``input_names`` names them."""
    return {name: t.detach().cpu().numpy()
            for name, t in zip(input_names(inputs), tensors_of(inputs), strict=True)}


class FlatInputs(nn.Module):
    """``model`` behind a signature of positional tensors, returning its logits.

    ONNX export and tracing need a flat list of tensors in and one tensor out; this rebuilds
    the structure ``like`` had (a mapping, a tuple or one tensor) around the positional
    arguments and calls ``model`` with it.
    """

    def __init__(self, model: nn.Module, like: ModelInputs) -> None:
        super().__init__()
        self.model = model
        self._names = input_names(like)
        self._kind = ("tensor" if isinstance(like, torch.Tensor)
                      else "mapping" if isinstance(like, Mapping) else "tuple")

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        if self._kind == "tensor":
            inputs: ModelInputs = tensors[0]
        elif self._kind == "mapping":
            inputs = dict(zip(self._names, tensors, strict=True))
        else:
            inputs = tuple(tensors)
        return forward_logits(self.model, inputs)
