"""Checks after a structural change: the model still runs on a real batch, every attention
module's heads still match the layers they are read from, and a Hugging Face config still
describes the model. A model that fails one cannot be right, and no other attempt would do
better: the run fails with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from compression.batches import forward_logits, model_device, to_device
from compression.errors import InvalidResultError
from compression.modelconfig import from_config, hf_config, shape_mismatch
from compression.pruning.heads import find_attention, head_shape
from compression.workload import Workload

Side = Literal["out", "in"]


@dataclass(frozen=True)
class HeadLayout:
    """An attention module's head count and size, and the Linear layers inside it whose
    outputs (q, k, v) or inputs (an output projection) are heads × head size wide."""

    heads: int
    head_size: int
    layers: dict[str, Side]


HeadLayers = dict[str, HeadLayout]  # by attention module name
_EXCLUDE_HINT = "leave attention out (prune: {exclude: ['*.attention.*']})"


def attention_widths(model: nn.Module) -> HeadLayers:
    """The Linear layers inside each attention module whose outputs (q, k, v) or inputs
    (an output projection) are its heads × head size, as they are now: take it before a
    structural change and check it with ``verify_heads`` after."""
    found: HeadLayers = {}
    for name, module in find_attention(model).items():
        heads, size = head_shape(module) or (0, 0)
        layers: dict[str, Side] = {}
        for sub, layer in module.named_modules():
            if isinstance(layer, nn.Linear):
                side: Side | None = "out" if layer.out_features == heads * size else (
                    "in" if layer.in_features == heads * size else None)
                if side is not None:
                    layers[f"{name}.{sub}" if name else sub] = side
        found[name] = HeadLayout(heads, size, layers)
    return found


def verify_heads(model: nn.Module, before: HeadLayers, change: str) -> None:
    """Fail when an attention module's heads × head size no longer matches the layers it
    reads them from (a model may still run, 2 heads of 16 read back as 1 of 16, and compute
    something else), or, when heads were removed, when its Hugging Face config no longer
    builds the model's shapes (it would not reload with ``from_pretrained``). ``before`` is
    ``attention_widths`` taken before ``change``."""
    modules = dict(model.named_modules())
    changed = False
    for name, layout in before.items():
        module = modules.get(name)
        heads, size = (None if module is None else head_shape(module)) or (0, 0)
        changed = changed or (heads, size) != (layout.heads, layout.head_size)
        width = heads * size
        all_heads = getattr(module, "all_head_size", width)
        if isinstance(all_heads, int) and all_heads != width:
            raise InvalidResultError(
                f"after {change}, attention module {name!r} has all_head_size {all_heads} "
                f"but {heads} heads × {size}")
        for layer_name, side in layout.layers.items():
            layer = modules.get(layer_name)
            now = None if not isinstance(layer, nn.Linear) else (
                layer.out_features if side == "out" else layer.in_features)
            if now != width:
                raise InvalidResultError(
                    f"after {change}, {layer_name!r} is {now} wide ({side}puts) but attention "
                    f"module {name!r} reads it as {heads} heads × {size} = {width}: its heads "
                    "no longer match")
    if changed:
        _verify_config(model, change)


def _verify_config(model: nn.Module, change: str) -> None:
    """The model's class, built from its config, has the model's shapes and head counts."""
    if hf_config(model) is None:
        return
    try:
        reference = from_config(model)
    except Exception as exc:  # whatever the class raises on a bad config
        raise InvalidResultError(f"after {change}, {type(model).__name__} can no longer be "
                                 f"built from its config: {type(exc).__name__}: {exc}") from None
    if reference is None:
        return
    problem = shape_mismatch(model, reference)
    if problem is None:
        ours = {n: head_shape(m) for n, m in find_attention(model).items()}
        problem = next((f"attention module {n!r} has (heads, head size) {ours.get(n)} but the "
                        f"config builds {shape}"
                        for n, shape in ((n, head_shape(m))
                                         for n, m in find_attention(reference).items())
                        if ours.get(n) != shape), None)
    if problem is not None:
        raise InvalidResultError(f"after {change}, the model's config no longer describes "
                                 f"it ({problem}): it would not reload with from_pretrained")


def verify_runs(model: nn.Module, work: Workload, change: str) -> None:
    """A forward pass on a real batch after a structural change; a failure names the
    innermost module that was running when it raised."""
    was_training = model.training
    model.eval()
    running: list[str] = []
    names = {module: name for name, module in model.named_modules()}

    def enter(module: nn.Module, _args: object) -> None:
        running.append(names.get(module, "?"))

    def leave(_module: nn.Module, _args: object, _out: object) -> None:
        running.pop()

    hooks = [h for m in names for h in (m.register_forward_pre_hook(enter),
                                        m.register_forward_hook(leave))]
    try:
        with torch.no_grad():
            forward_logits(model, to_device(work.example(2), model_device(model)))
    except Exception as exc:
        text = str(exc).strip().splitlines()
        culprit = running[-1] if running else ""  # "" is the model itself: no more to say
        where = (f" in {culprit!r} ({type(model.get_submodule(culprit)).__name__})"
                 if culprit else "")
        hint = (" Head-aware pruning handles attention modules that declare their heads "
                "Hugging Face style, with separate query/key/value Linear layers; for "
                f"others, {_EXCLUDE_HINT}" if attention_widths(model) else "")
        raise InvalidResultError(f"the model no longer runs after {change}{where}: "
                                 f"{type(exc).__name__}: {text[0] if text else ''}.{hint}"
                                 ) from None
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
