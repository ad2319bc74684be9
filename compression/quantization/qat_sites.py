"""Where QAT fake-quantizes: the torch layers behind the nodes the int8 export quantizes.

The model is exported to ONNX once, as ``quantize_model`` will export it, and the same plan
(``graph.plan_quantization``, the recipe's ``exclude`` included) says which weighted nodes
become int8. Each such node maps back to the layer it came from by its name: the TorchScript
exporter names a node after the module path that made it (``/bert/encoder/layer.0/attention/
self/query/MatMul`` is ``bert.encoder.layer.0.attention.self.query``; ``/model/`` leads the
names when the model takes named inputs). So QAT fake-quantizes what int8 quantizes, and
nothing else: attention's activation × activation MatMuls, excluded nodes and layers that
are no module of their own stay float in both.

Where int8 quantizes a layer's output:

- Gemm (a Linear on 2-D input) and Conv: after the bias;
- MatMul (a Linear on 3-D input, exported as MatMul + Add): before the bias;
- a Conv followed by BatchNorm: the export folds the BatchNorm into the Conv, so after the
  BatchNorm.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import nn

from compression.batches import ModelInputs, forward_logits, model_device, to_device
from compression.measure.onnx_export import export_onnx
from compression.quantization.graph import STATIC_OP_TYPES, name_nodes, plan_quantization
from compression.spec.models import QuantizeExclude

_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
# The scope FlatInputs (the export's wrapper of models with named inputs) adds to node names.
_WRAPPER = "model."


@dataclass(frozen=True)
class Site:
    """One layer int8 quantizes, as QAT fakes it.

    output_at: ``bias`` (the layer's output, bias included), ``before_bias``, or the name of
    the BatchNorm module folded into this conv, whose output int8 quantizes instead.
    """

    module: str
    node: str
    output_at: str


@dataclass(frozen=True)
class Sites:
    """The layers to fake-quantize, and the quantized weighted nodes no layer matched (a
    functional ``F.linear`` in a user's forward, say): those differ between QAT and int8."""

    layers: list[Site]
    unmatched: list[str]


def module_path(node: str) -> str:
    """The module path of a node name. The exporter names a container's items with both
    scopes (``/body/body.0/Gemm``, ``/layer/layer.0/convolution/Conv``): the container's own
    segment is dropped where the next one repeats it, giving ``body.0``."""
    segments = node.strip("/").split("/")[:-1]
    kept = [seg for seg, after in zip(segments, [*segments[1:], ""][:len(segments)], strict=True)
            if not after.startswith(seg + ".")]
    return ".".join(kept)


def module_of(node: str, modules: dict[str, nn.Module]) -> str | None:
    """The Linear / Conv module a weighted node was exported from, or None."""
    path = module_path(node)
    candidates = [path, path.removeprefix(_WRAPPER)] if path.startswith(_WRAPPER) else [path]
    return next((c for c in candidates if type(modules.get(c)) in _LAYERS), None)


@contextlib.contextmanager
def _evaluating(model: nn.Module) -> Iterator[None]:
    """Eval mode for the export and the trace, each module's mode restored after."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield
    finally:
        for module, training in modes.items():
            module.train(training)


def _batchnorm_after_conv(model: nn.Module, example: ModelInputs) -> dict[str, str]:
    """conv name -> the BatchNorm that takes its output directly, found by one traced pass."""
    names = {m: n for n, m in model.named_modules()}
    outputs: dict[int, tuple[str, torch.Tensor]] = {}  # the tensor is held so ids stay unique
    pairs: dict[str, str] = {}

    def after_conv(module: nn.Module, _args: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor):
            outputs[id(out)] = (names[module], out)

    def before_norm(module: nn.Module, args: tuple[Any, ...]) -> None:
        if args and id(args[0]) in outputs:
            pairs[outputs[id(args[0])][0]] = names[module]

    # Exact types, as for the layers: a user's subclass keeps its own forward.
    hooks = [m.register_forward_hook(after_conv) for m in model.modules()
             if type(m) in (nn.Conv1d, nn.Conv2d)]
    hooks += [m.register_forward_pre_hook(before_norm) for m in model.modules()
              if type(m) in _NORMS]
    try:
        with torch.no_grad():
            forward_logits(model, example)
    finally:
        for hook in hooks:
            hook.remove()
    return pairs


def _scopes(exported: onnx.ModelProto) -> set[str]:
    """The module paths that have nodes of their own in the export (wrapper scope removed)."""
    paths = {module_path(n.name) for n in exported.graph.node}
    return paths | {p.removeprefix(_WRAPPER) for p in paths}


def find_sites(model: nn.Module, example: ModelInputs, exclude: QuantizeExclude) -> Sites:
    """The layers of ``model`` whose nodes the int8 export of ``model`` quantizes."""
    example = to_device(example, model_device(model))  # QAT may train on a GPU
    with _evaluating(model), tempfile.TemporaryDirectory(prefix="squeezelab-qat-") as scratch:
        path = export_onnx(model, example, Path(scratch) / "fp32.onnx")
        exported = name_nodes(onnx.load(str(path)))
        folded = _batchnorm_after_conv(model, example)
    plan = plan_quantization(exported, exclude, op_types=STATIC_OP_TYPES)
    modules = dict(model.named_modules())
    scopes = _scopes(exported)
    layers: dict[str, Site] = {}
    unmatched: list[str] = []
    for node, op_type in plan.weighted.items():
        name = module_of(node, modules)
        if name is None:
            unmatched.append(node)
            continue
        if name in layers:
            continue  # a layer called twice: its fake quantization covers both calls
        norm = folded.get(name)
        # A BatchNorm with nodes of its own in the export was not folded into the conv.
        output_at = ("before_bias" if op_type == "MatMul" else
                     norm if norm is not None and norm not in scopes else "bias")
        layers[name] = Site(module=name, node=node, output_at=output_at)
    return Sites(layers=list(layers.values()), unmatched=unmatched)
