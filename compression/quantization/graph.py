"""Which nodes of an fp32 ONNX graph int8 quantizes, and which stay float and why.

Static int8 quantizes the weighted ops and the activation-only ops between them
(``STATIC_OP_TYPES``); everything else stays float: element-wise arithmetic (an attention
mask holds ``-inf`` or ``finfo.min``, which gives an infinite or absurd scale), Softmax and
normalisation, whose inputs must keep their range. On top of that:

- A MatMul whose inputs are both activations (attention's Q·Kᵀ and probabilities·V) stays
  float. Quantizing them changed neither accuracy nor argmax agreement on the small BERT and
  ViT of benchmarks/quantization_safety.py, but made the BERT 8% slower on ONNX Runtime
  (seq 128, batch 32), and it would put the Softmax's output (probabilities: most of them far
  below 1/255 on long sequences) and its input's scores on a uint8 grid. ONNX Runtime's own
  int8 attention (QAttention) and PyTorch's dynamic int8 BERT keep them float too.
- The recipe's ``exclude``: op types and node-name globs.

``StaticPlan`` is shared by the int8 export and by QAT, so QAT fake-quantizes exactly the
layers the int8 graph quantizes.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field

import onnx

from compression.spec.models import QuantizeExclude

# What static int8 quantizes: the weighted ops and the activation-only ops between them.
STATIC_OP_TYPES = ["Conv", "MatMul", "Gemm", "Relu", "Clip", "MaxPool", "AveragePool",
                   "GlobalAveragePool", "Flatten"]
# What dynamic int8 quantizes: ONNX Runtime's IntegerOps registry has no Gemm, so Linear layers
# are rewritten as MatMul first (onnx_int8.linear_as_matmul); conv stays fp32.
DYNAMIC_OP_TYPES = ["MatMul"]
WEIGHTED_OP_TYPES = ("Conv", "MatMul", "Gemm")
ACTIVATION_MATMUL = "activation × activation MatMul (attention scores): always float"


def constant_names(model: onnx.ModelProto) -> set[str]:
    """Tensors whose values are fixed in the file: initializers and Constant outputs."""
    names = {init.name for init in model.graph.initializer}
    return names | {out for node in model.graph.node if node.op_type == "Constant"
                    for out in node.output}


def is_weighted(node: onnx.NodeProto, constants: set[str]) -> bool:
    """A Conv, MatMul or Gemm whose second input (the weight) is a constant."""
    return node.op_type in WEIGHTED_OP_TYPES and len(node.input) > 1 and \
        node.input[1] in constants


def is_activation_matmul(node: onnx.NodeProto, constants: set[str]) -> bool:
    """A MatMul of two activations, such as attention's Q·Kᵀ."""
    return node.op_type == "MatMul" and not any(name in constants for name in node.input)


def matching_glob(name: str, globs: Iterable[str]) -> str | None:
    """The first glob that matches a node name, or None."""
    return next((g for g in globs if fnmatch.fnmatchcase(name, g)), None)


def name_nodes(model: onnx.ModelProto) -> onnx.ModelProto:
    """Give every unnamed node a unique name, in place: exclusion works by node name."""
    taken = {node.name for node in model.graph.node}
    for i, node in enumerate(model.graph.node):
        if node.name:
            continue
        name, k = f"{node.op_type}_{i}", 0
        while name in taken:
            k += 1
            name = f"{node.op_type}_{i}_{k}"
        node.name = name
        taken.add(name)
    return model


@dataclass(frozen=True)
class StaticPlan:
    """What the int8 export is told to quantize.

    op_types: the op types given to ONNX Runtime's quantizer.
    quantize: the nodes of those types that are quantized, in graph order.
    weighted: those of ``quantize`` that are weighted layers (Conv, Gemm, MatMul of a constant).
    kept_float: nodes of those op types left in float, with the reason.
    """

    op_types: list[str]
    quantize: list[str]
    weighted: dict[str, str] = field(default_factory=dict)  # node name -> op type
    kept_float: dict[str, str] = field(default_factory=dict)

    @property
    def exclude_nodes(self) -> list[str]:
        """The node names ONNX Runtime's quantizer is told to leave alone."""
        return list(self.kept_float)


def plan_quantization(model: onnx.ModelProto, exclude: QuantizeExclude, *,
                      op_types: list[str]) -> StaticPlan:
    """Which nodes of ``model`` (fp32) int8 quantizes among ``op_types``, and which stay float.

    Excluded: activation × activation MatMuls, the recipe's excluded op types, nodes matching
    one of its globs.
    """
    constants = constant_names(model)
    allowed = [t for t in op_types if t not in exclude.op_types]
    quantize: list[str] = []
    weighted: dict[str, str] = {}
    kept: dict[str, str] = {}
    for node in model.graph.node:
        if node.op_type not in op_types:
            continue
        glob = matching_glob(node.name, exclude.nodes)
        if node.op_type not in allowed:
            kept[node.name] = f"excluded by op type {node.op_type}"
        elif glob is not None:
            kept[node.name] = f"excluded by node pattern {glob!r}"
        elif is_activation_matmul(node, constants):
            kept[node.name] = ACTIVATION_MATMUL
        else:
            quantize.append(node.name)
            if is_weighted(node, constants):
                weighted[node.name] = node.op_type
    return StaticPlan(op_types=allowed, quantize=quantize, weighted=weighted, kept_float=kept)
