"""Checks after a structural change: the model still runs on a real batch, and the widths its
attention heads are read from did not move. A model that fails one cannot be right, and no
other attempt would do better: the run fails with the reason."""

from __future__ import annotations

import torch
from torch import nn

from compression.batches import forward_logits, model_device, to_device
from compression.errors import InvalidResultError
from compression.workload import Workload

_HEADS = ("num_attention_heads", "num_heads", "n_heads")
_HEAD_SIZE = ("attention_head_size", "head_dim", "head_size")


def attention_widths(model: nn.Module) -> dict[str, tuple[str, int]]:
    """Linear layers whose output (or input) is an attention module's heads × head size:
    ``{layer: ("out" | "in", width)}``. A module declares its heads as Hugging Face's do
    (``num_attention_heads`` and ``attention_head_size`` or ``head_dim``)."""
    found: dict[str, tuple[str, int]] = {}
    for name, module in model.named_modules():
        heads = next((getattr(module, a) for a in _HEADS
                      if isinstance(getattr(module, a, None), int)), None)
        size = next((getattr(module, a) for a in _HEAD_SIZE
                     if isinstance(getattr(module, a, None), int)), None)
        if heads is None or size is None:
            continue
        width = heads * size
        for sub, layer in module.named_modules():
            if isinstance(layer, nn.Linear):
                side = "out" if layer.out_features == width else (
                    "in" if layer.in_features == width else None)
                if side is not None:
                    found[f"{name}.{sub}" if name else sub] = (side, width)
    return found


def verify_heads(model: nn.Module, before: dict[str, tuple[str, int]], change: str) -> None:
    """Fail when a structural change altered the width the attention heads are read from:
    the model may still run (2 heads of 16 read back as 1 of 16) and compute something else."""
    modules = dict(model.named_modules())
    for name, (side, width) in before.items():
        layer = modules.get(name)
        now = None if not isinstance(layer, nn.Linear) else (
            layer.out_features if side == "out" else layer.in_features)
        if now != width:
            raise InvalidResultError(
                f"{change} changed the attention width of {name!r} ({width} -> {now}): its "
                "heads no longer match the model's head count. Head-aware pruning is not in "
                "this engine: leave attention out (prune: {exclude: ['*.attention.*']})")


def verify_runs(model: nn.Module, work: Workload, change: str) -> None:
    """A forward pass on a real batch after a structural change."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            forward_logits(model, to_device(work.example(2), model_device(model)))
    except Exception as exc:
        text = str(exc).strip().splitlines()
        hint = (" Attention layers need head-aware pruning, which this engine lacks: leave "
                "them out (prune: {exclude: ['*.attention.*']})" if attention_widths(model)
                else "")
        raise InvalidResultError(f"the model no longer runs after {change}: "
                                 f"{type(exc).__name__}: {text[0] if text else ''}.{hint}"
                                 ) from None
    finally:
        model.train(was_training)
