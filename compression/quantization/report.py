"""What an int8 ONNX file really quantizes, read back from the file: the quantized ops and
nodes, the weighted layers left in float, and the share of the weights stored as int8.

Read from the saved file rather than from what the quantizer was asked to do, so the run
summary cannot claim int8 where the computation stayed fp32 (ptq_dynamic on a CNN quantizes
MatMul only: ResNet-18's "int8" file was 99.9% of the fp32 one).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from compression.quantization.graph import STATIC_OP_TYPES, WEIGHTED_OP_TYPES

# ONNX Runtime's integer ops (dynamic mode, QOperator format) -> the op type they replace.
INTEGER_OPS = {"MatMulInteger": "MatMul", "DynamicQuantizeMatMul": "MatMul",
               "MatMulIntegerToFloat": "MatMul", "QLinearMatMul": "MatMul",
               "ConvInteger": "Conv", "QLinearConv": "Conv"}
# Names the dynamic quantizer gives the integer op that replaces a node.
_RENAMED = "_quant"


@dataclass(frozen=True)
class Int8Report:
    """What one int8 ONNX file quantizes.

    ops: quantized op type -> count (integer ops counted as the op they replace).
    nodes: the quantized nodes, named as in the fp32 export (globs for ``exclude`` match these).
    float_layers: weighted layers (Conv, Gemm, MatMul of a constant weight) left in float.
    int8_weight_fraction: of the weights' fp32 bytes (tensors of 2 or more dimensions,
        embedding tables included), the fraction now stored as int8.
    """

    ops: dict[str, int]
    nodes: list[str]
    int8_layers: list[str]
    float_layers: list[str]
    float_convs: int
    int8_weight_fraction: float

    @property
    def weighted_layers(self) -> int:
        return len(self.int8_layers) + len(self.float_layers)


def _constants(model: onnx.ModelProto) -> dict[str, np.ndarray[Any, Any]]:
    out = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    for node in model.graph.node:
        value = [a.t for a in node.attribute if a.name == "value"]
        if node.op_type == "Constant" and value:
            out[node.output[0]] = numpy_helper.to_array(value[0])
    return out


def _is_int8(array: np.ndarray[Any, Any] | None) -> bool:
    return array is not None and array.dtype in (np.int8, np.uint8) and array.ndim >= 2


def inspect_int8(path: Path) -> Int8Report:
    """Read back what the int8 ONNX file at ``path`` quantizes."""
    model = onnx.load(str(path))
    constants = _constants(model)
    dequantized = {node.output[0]: node.input[0] for node in model.graph.node
                   if node.op_type == "DequantizeLinear"}
    ops: Counter[str] = Counter()
    nodes: list[str] = []
    int8_layers: list[str] = []
    float_layers: list[str] = []
    float_convs = 0
    for node in model.graph.node:
        name = node.name.removesuffix(_RENAMED)
        if node.op_type in INTEGER_OPS:
            ops[INTEGER_OPS[node.op_type]] += 1
            nodes.append(name)
            if any(_is_int8(constants.get(i)) for i in node.input):
                int8_layers.append(name)
            continue
        if node.op_type not in STATIC_OP_TYPES or not node.input:
            continue
        weight = node.input[1] if len(node.input) > 1 else ""
        if node.op_type in WEIGHTED_OP_TYPES and weight in constants:
            float_layers.append(name)
            float_convs += node.op_type == "Conv"
            continue
        if node.input[0] not in dequantized:
            continue  # an activation op (or activation × activation MatMul) left in float
        ops[node.op_type] += 1
        nodes.append(name)
        stored = constants.get(dequantized.get(weight, ""))
        if node.op_type in WEIGHTED_OP_TYPES and _is_int8(stored):
            int8_layers.append(name)
    int8_bytes = sum(a.size for a in constants.values() if _is_int8(a))
    float_bytes = sum(a.size for a in constants.values()
                      if a.ndim >= 2 and np.issubdtype(a.dtype, np.floating))
    total = int8_bytes + float_bytes
    return Int8Report(ops=dict(sorted(ops.items())), nodes=nodes, int8_layers=int8_layers,
                      float_layers=float_layers, float_convs=float_convs,
                      int8_weight_fraction=int8_bytes / total if total else 0.0)
