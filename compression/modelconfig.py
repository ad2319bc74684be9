"""A Hugging Face model's config kept in step with its pruned shapes, and saved next to its
weights.

transformers rebuilds a model from its config alone (version 5 has no ``pruned_heads``), so a
pruned model reloads with ``from_pretrained`` only when the config describes every shape. This
module writes the new widths into the config, rebuilds the class from the config to check
that it does, and writes ``config.json`` beside ``model.safetensors``. It never imports
transformers: a config is anything with ``to_json_file``, as transformers' are.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from torch import nn

CONFIG_FILE = "config.json"
# Config fields that hold a layer width; each takes the new width of the layers that had it.
WIDTH_FIELDS = ("hidden_size", "intermediate_size", "pooler_output_size")


def hf_config(model: nn.Module) -> Any | None:
    """The model's Hugging Face style config (a ``config`` with ``to_json_file``), or None."""
    config = getattr(model, "config", None)
    return config if callable(getattr(config, "to_json_file", None)) else None


def width_fields(config: Any) -> dict[str, int]:
    """The config's width fields as they are now: record them before pruning."""
    return {f: v for f in WIDTH_FIELDS
            if isinstance(v := getattr(config, f, None), int) and not isinstance(v, bool)}


def write_shapes(config: Any, original: Mapping[str, int], *, widths: Mapping[int, set[int]],
                 heads: int | None, head_size: int | None) -> None:
    """Write pruned shapes into ``config``.

    Args:
        original: ``width_fields(config)`` of the dense model.
        widths: original width -> current widths of the pruned layers that had it; a field
            changes only when all those layers agree (otherwise no config can say it, and
            ``shape_mismatch`` names the layer).
        heads, head_size: the attention modules' common head count and head size; the head
            size is written only where the config sets one (``head_dim``), since BERT-style
            models derive it from ``hidden_size``.
    """
    for field, before in original.items():
        now = widths.get(before, set())
        if len(now) == 1:
            setattr(config, field, next(iter(now)))
    if heads is not None and isinstance(getattr(config, "num_attention_heads", None), int):
        config.num_attention_heads = heads
    if head_size is not None and isinstance(getattr(config, "head_dim", None), int):
        config.head_dim = head_size


def from_config(model: nn.Module) -> nn.Module | None:
    """The model's class built from its config on the meta device (no memory, no init cost),
    as ``from_pretrained`` would build it; None for a model without a Hugging Face config."""
    config = hf_config(model)
    if config is None:
        return None
    with torch.device("meta"):
        built: nn.Module = type(model)(copy.deepcopy(config))
    return built


def shape_mismatch(model: nn.Module, reference: nn.Module) -> str | None:
    """The first tensor whose shape (or presence) differs between the two models, described."""
    ours, theirs = model.state_dict(), reference.state_dict()
    for key, tensor in ours.items():
        if key not in theirs:
            return f"{key!r} is not in a {type(model).__name__} built from the config"
        if theirs[key].shape != tensor.shape:
            return (f"{key!r} is {tuple(tensor.shape)} but the config builds "
                    f"{tuple(theirs[key].shape)}")
    missing = sorted(set(theirs) - set(ours))
    return f"the config builds {missing[0]!r}, which the model lacks" if missing else None


def _holds_plain_tensors(weights: Path, model: nn.Module) -> bool:
    """Whether ``weights`` stores every tensor under the model's own names: squeezelab's
    bitmask encoding of sparse tensors (``<name>:mask``) is not readable by transformers."""
    try:
        with safe_open(str(weights), framework="pt") as handle:
            stored = set(handle.keys())
    except (SafetensorError, OSError):
        return False
    return stored == set(model.state_dict())


def save_config(model: nn.Module, out_dir: Path, *, weights: Path) -> Path | None:
    """Write ``config.json`` next to ``weights`` so that ``from_pretrained(out_dir)`` rebuilds
    the model; return its path, or None where that would not give this model back: no Hugging
    Face config, a config that does not describe the (pruned) shapes, or weights stored with
    squeezelab's sparse encoding (read those with ``compression.measure.load_state``)."""
    config = hf_config(model)
    if config is None or not _holds_plain_tensors(weights, model):
        return None
    try:
        reference = from_config(model)
    except Exception:  # any class that does not build from its config
        return None
    if reference is None or shape_mismatch(model, reference) is not None:
        return None
    saved = copy.deepcopy(config)
    saved.architectures = [type(model).__name__]
    path = Path(out_dir) / CONFIG_FILE
    saved.to_json_file(str(path))
    return path
