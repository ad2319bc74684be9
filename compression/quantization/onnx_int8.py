"""Int8 ONNX models made with ONNX Runtime's quantization tool, and run with ONNX Runtime.

Why ONNX Runtime: measured by benchmarks/quantization.py on a 2-core AMD EPYC with AVX2 and
no VNNI, 1 thread, p50 (docs/benchmarks.md, "Quantization"), ORT int8 had the lowest int8
latency of the three candidates for every model and batch size measured:

- ``torch.ao.quantization`` (eager, deprecated): 2.9-3.3x faster than torch fp32 on the
  1024-4096-4096-1000 MLP but still behind ORT int8 (24 vs 21 ms at batch 64); slower than
  torch fp32 on the digits models (0.36-0.95x) but for the fused static CNN at batch 64, which
  at 1.5 ms still trails ORT (0.8 ms); and its int8 modules export neither to ONNX nor to
  safetensors (packed parameters).
- torchao PT2E (X86InductorQuantizer + torch.compile/Inductor): 0.08-1.08x of compiled fp32
  here (no VNNI), after 40-120 s of compilation per model and batch shape, and it needs a
  C++ toolchain on every worker.
- ONNX Runtime: 1.0-1.6x (digits) and 2.2-3.7x (large MLP) faster than ORT fp32, itself the
  fastest fp32 runtime here (torch ties on the large MLP at batch 1); the saved model is an
  ONNX protobuf, loaded without unpickling, with int8 weights on disk.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import helper, numpy_helper
from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

from compression.batches import ModelInputs
from compression.errors import ArtifactFormatError, UnsupportedRecipeError
from compression.quantization.calibration import (
    CALIBRATION_METHODS,
    BatchReader,
    Calibration,
    entropy_ranges,
    feed_for,
    graph_inputs,
)
from compression.quantization.checks import check_quantization_parameters
from compression.quantization.graph import (
    ACTIVATION_MATMUL,
    DYNAMIC_OP_TYPES,
    STATIC_OP_TYPES,
    StaticPlan,
    name_nodes,
    plan_quantization,
)
from compression.spec.models import QuantizeExclude


@dataclass(frozen=True)
class Int8Settings:
    """How weights and activations are quantized for one CPU family.

    activation: ``uint8`` (asymmetric) or ``int8``. Weights are always int8, symmetric, so a
        pruned (zero) weight is exactly 0 after quantization.
    reduce_range: 7-bit weights. AVX2 without VNNI multiplies u8×s8 pairs with VPMADDUBSW,
        whose 16-bit sums saturate with full-range weights (ONNX Runtime's documentation);
        7-bit weights cannot saturate. VNNI CPUs do not need it.
    per_channel: one weight scale per output channel (static mode).
    """

    activation: str = "uint8"
    reduce_range: bool = True
    per_channel: bool = True


# Backends a recipe may name (QuantizeSpec.backend).
BACKENDS: dict[str, Int8Settings] = {
    "x86": Int8Settings(),
    "x86_vnni": Int8Settings(reduce_range=False),
}


def settings_for(backend: str) -> Int8Settings:
    """The settings of a backend name; ``UnsupportedRecipeError`` for an unknown one."""
    try:
        return BACKENDS[backend]
    except KeyError:
        raise UnsupportedRecipeError(
            f"unknown quantization backend {backend!r}; known: {', '.join(sorted(BACKENDS))}"
        ) from None


def linear_as_matmul(model: onnx.ModelProto) -> onnx.ModelProto:
    """Rewrite ``Gemm(x, W, b)`` nodes with a constant ``W`` as ``MatMul`` + ``Add``, in place.

    torch exports ``nn.Linear`` as Gemm, but ONNX Runtime's dynamic quantizer only quantizes
    MatMul (its IntegerOps registry has no Gemm). Gemm nodes with alpha/beta other than 1 or a
    transposed input are left as they are.
    """
    graph = model.graph
    constants = {init.name: init for init in graph.initializer}
    nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        plain = attrs.get("alpha", 1.0) == 1.0 and attrs.get("beta", 1.0) == 1.0
        if node.op_type != "Gemm" or not plain or attrs.get("transA", 0) or \
                node.input[1] not in constants:
            nodes.append(node)
            continue
        weight = numpy_helper.to_array(constants[node.input[1]])
        if attrs.get("transB", 0):
            weight = np.ascontiguousarray(weight.T)
        weight_name = f"{node.input[1]}_matmul"
        graph.initializer.append(numpy_helper.from_array(weight, weight_name))
        has_bias = len(node.input) > 2 and node.input[2] != ""
        product = f"{node.output[0]}_matmul" if has_bias else node.output[0]
        nodes.append(helper.make_node("MatMul", [node.input[0], weight_name], [product],
                                      name=f"{node.name}_matmul"))
        if has_bias:
            nodes.append(helper.make_node("Add", [product, node.input[2]], [node.output[0]],
                                          name=f"{node.name}_bias"))
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    unused = [init for init in graph.initializer if init.name not in used]
    for init in unused:
        graph.initializer.remove(init)
    return model


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """ORT's quantizer logs and prints advice for every model; a worker log does not need it."""
    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


@dataclass(frozen=True)
class Int8File:
    """A saved int8 ONNX file, what it was planned to quantize, and how long that took
    (calibration included)."""

    path: Path
    plan: StaticPlan
    seconds: float


def _planned(model: onnx.ModelProto, exclude: QuantizeExclude | None,
             op_types: list[str]) -> StaticPlan:
    """The plan for ``model``; ``UnsupportedRecipeError`` when it leaves nothing to quantize
    (ONNX Runtime reads an empty op or node list as "everything", masks included)."""
    plan = plan_quantization(model, exclude or QuantizeExclude(), op_types=op_types)
    if not plan.quantize:
        raise UnsupportedRecipeError(
            f"nothing left to quantize: the model has no {'/'.join(op_types)} node that is "
            "not excluded (quantize.exclude, or activation × activation MatMuls)")
    return plan


def quantize_onnx_dynamic(fp32_path: Path, out_path: Path, settings: Int8Settings,
                          exclude: QuantizeExclude | None = None) -> Int8File:
    """Int8 weights for every Linear (MatMul); activations quantized on the fly per batch.

    Conv layers stay fp32, in compute and on disk. ONNX Runtime's dynamic int8 conv
    (ConvInteger) measured 0.26x of fp32 (issue 3), and int8 conv weights stored behind a
    DequantizeLinear node (weight-only) made the fp32 conv 2.4x slower at batch 64 (the
    weights are no longer constant, so ORT cannot pre-pack them): a dynamic-mode CNN keeps
    its conv weights in fp32 and its file is about half the fp32 size. Use ``ptq_static``.
    """
    started = time.perf_counter()
    model = linear_as_matmul(name_nodes(onnx.load(str(fp32_path))))
    plan = _planned(model, exclude, DYNAMIC_OP_TYPES)
    with _quiet():
        quantize_dynamic(model, str(out_path), op_types_to_quantize=plan.op_types,
                         nodes_to_quantize=plan.quantize, nodes_to_exclude=plan.exclude_nodes,
                         weight_type=QuantType.QInt8, reduce_range=settings.reduce_range,
                         per_channel=False)
    check_quantization_parameters(out_path)
    return Int8File(out_path, plan, time.perf_counter() - started)


def quantize_onnx_static(fp32_path: Path, out_path: Path, settings: Int8Settings,
                         calibration: Iterable[ModelInputs], *,
                         calibrate: Calibration | None = None,
                         exclude: QuantizeExclude | None = None,
                         activation_matmuls: bool = False) -> Int8File:
    """QDQ int8 model: conv and linear layers, activation ranges calibrated on ``calibration``.

    Only the nodes of ``graph.plan_quantization`` are quantized; every scale and zero point of
    the saved file is checked (``checks.check_quantization_parameters``).
    activation_matmuls: quantize activation × activation MatMuls too (for the measurement
        in benchmarks/quantization_safety.py only; recipes never do).
    """
    calibrate = calibrate or Calibration()
    started = time.perf_counter()
    model = name_nodes(onnx.load(str(fp32_path)))
    plan = _planned(model, exclude, STATIC_OP_TYPES)
    excluded = [n for n, why in plan.kept_float.items()
                if not (activation_matmuls and why == ACTIVATION_MATMUL)]
    chosen = plan.quantize + [n for n in plan.kept_float if n not in excluded]
    reader = BatchReader(graph_inputs(model), calibration)
    activation = QuantType.QUInt8 if settings.activation == "uint8" else QuantType.QInt8
    with _quiet(), tempfile.TemporaryDirectory(prefix="squeezelab-calib-") as scratch:
        cache = None
        if calibrate.method == "entropy":
            named = Path(scratch) / "fp32.onnx"
            onnx.save(model, str(named))
            cache = entropy_ranges(named, plan.op_types, reader, Path(scratch))
        quantize_static(model, str(out_path), reader, quant_format=QuantFormat.QDQ,
                        per_channel=settings.per_channel, reduce_range=settings.reduce_range,
                        activation_type=activation, weight_type=QuantType.QInt8,
                        calibrate_method=CALIBRATION_METHODS[calibrate.method],
                        calibration_cache_path=cache,
                        op_types_to_quantize=plan.op_types, nodes_to_quantize=chosen,
                        nodes_to_exclude=excluded,
                        # An int32 bias comes with its own scale and zero-point tensors, which
                        # push a small model's file over 30% of fp32; an fp32 bias measured as
                        # fast (ORT's fused kernels take either) and keeps the file at ~28%.
                        extra_options={"WeightSymmetric": True, "QuantizeBias": False,
                                       **calibrate.extra_options()})
    check_quantization_parameters(out_path)
    return Int8File(out_path, plan, time.perf_counter() - started)


def int8_weights(path: Path) -> dict[str, np.ndarray[Any, Any]]:
    """The int8 initializers (quantized weights) of a quantized ONNX file, by name."""
    model = onnx.load(str(path))
    arrays = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    return {name: a for name, a in arrays.items() if a.dtype == np.int8 and a.ndim >= 2}


class OnnxModel:
    """A model saved as ONNX, run with ONNX Runtime on the CPU: model inputs in, logits out."""

    def __init__(self, path: Path, *, threads: int = 1) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own untyped errors for a bad file
            raise ArtifactFormatError(f"{path} is not a loadable ONNX model: {exc}") from None
        self.names = {i.name for i in self.session.get_inputs()}

    def __call__(self, inputs: ModelInputs) -> torch.Tensor:
        return torch.from_numpy(self.session.run(None, feed_for(inputs, self.names))[0])
