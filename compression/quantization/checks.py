"""Checks of a saved int8 ONNX file's quantization parameters, before a run may succeed.

A QDQ model with a wrong scale still runs and still reports an accuracy: near chance when an
attention mask was quantized (scale +inf), or when a sentinel such as ``finfo.min`` stretched a
range so far that every real value rounds to the zero point (scale ~1e36, finite and positive).
So every QuantizeLinear / DequantizeLinear of the file is checked:

- scale: finite, > 0, and a step of at most ``MAX_STEP`` (float16's largest value): a wider
  step means the calibrated range holds a sentinel, not activations;
- zero point: an integer tensor of the scale's shape, within its dtype's range, and exactly 0
  for weights (they are symmetric, so a pruned zero stays 0).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from compression.errors import InvalidResultError
from compression.quantization.graph import STATIC_OP_TYPES

QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
MAX_STEP = 65504.0
_INTEGERS = (np.int8, np.uint8, np.int16, np.uint16, np.int32)

Array = np.ndarray[Any, Any]


class _Graph:
    """The constants, producers and consumers of a graph, by tensor name."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self.constants: dict[str, Array] = {
            init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
        for node in model.graph.node:
            value = [a.t for a in node.attribute if a.name == "value"]
            if node.op_type == "Constant" and value:
                self.constants[node.output[0]] = numpy_helper.to_array(value[0])
        self.producer = {out: node for node in model.graph.node for out in node.output}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in model.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)

    def quantized_ops_around(self, tensor: str) -> list[str]:
        """The quantizable nodes that made ``tensor`` or read it through a Q/DQ pair: the ops
        to leave in float so that it is not quantized."""
        names: list[str] = []
        producer = self.producer.get(tensor)
        if producer is not None and producer.op_type in STATIC_OP_TYPES:
            names.append(producer.name)
        frontier = [tensor]
        while frontier:
            for node in self.consumers.get(frontier.pop(), []):
                if node.op_type in QDQ_OPS:
                    frontier.extend(node.output)
                elif node.op_type in STATIC_OP_TYPES and node.name not in names:
                    names.append(node.name)
        return names


def _fix(graph: _Graph, node: onnx.NodeProto, problem: str) -> InvalidResultError:
    tensor = node.input[0]
    ops = graph.quantized_ops_around(tensor)
    hint = (f"; keep it in float: quantize: {{exclude: {{nodes: {ops!r}}}}}" if ops
            else "; leave that op in float")
    return InvalidResultError(f"int8 quantization of {tensor!r} {problem}{hint}")


def _check_scale(graph: _Graph, node: onnx.NodeProto, scale: Array) -> None:
    if not (np.all(np.isfinite(scale)) and np.all(scale > 0)):
        raise _fix(graph, node, f"has the scale {scale.tolist()!r}: its calibrated range is "
                                "not a finite range (an attention mask's -inf?)")
    if np.any(scale > MAX_STEP):
        raise _fix(graph, node, f"has the scale {float(scale.max()):.3g}: its calibrated "
                                "range holds a sentinel such as finfo.min (a mask?), and "
                                "every real value would round to the zero point")


def _check_zero_point(graph: _Graph, node: onnx.NodeProto, scale: Array,
                      zero_point: Array | None) -> None:
    if zero_point is None:
        return  # ONNX's default zero point: 0 of uint8
    if zero_point.dtype.type not in _INTEGERS:
        raise _fix(graph, node, f"has a zero point of type {zero_point.dtype}, not an integer")
    if zero_point.shape != scale.shape:
        raise _fix(graph, node, f"has {zero_point.size} zero points for {scale.size} scales")
    info = np.iinfo(zero_point.dtype)
    wide = zero_point.astype(np.int64)
    if np.any(wide < info.min) or np.any(wide > info.max):
        raise _fix(graph, node, f"has a zero point outside {zero_point.dtype}'s range")
    quantized = graph.constants.get(node.input[0])
    weight = node.op_type == "DequantizeLinear" and quantized is not None and quantized.ndim >= 2
    if weight and np.any(wide != 0):
        raise _fix(graph, node, "is not symmetric (weights must keep 0 exactly 0)")


def check_quantization_parameters(path: Path) -> None:
    """Raise ``InvalidResultError`` naming the tensor, and the ops to exclude, when a scale or
    zero point of the int8 file at ``path`` is not a usable one (see the module docstring)."""
    model = onnx.load(str(path))
    graph = _Graph(model)
    for node in model.graph.node:
        if node.op_type not in QDQ_OPS or len(node.input) < 2:
            continue
        scale = graph.constants.get(node.input[1])
        if scale is None:
            raise _fix(graph, node, "has a scale computed at run time, not a constant")
        _check_scale(graph, node, scale)
        zero_point = graph.constants.get(node.input[2]) if len(node.input) > 2 and \
            node.input[2] else None
        _check_zero_point(graph, node, scale, zero_point)
