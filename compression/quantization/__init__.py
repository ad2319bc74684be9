"""Quantization: int8 models (dynamic, static, QAT) built and run with ONNX Runtime."""

from compression.quantization.calibration import Calibration
from compression.quantization.graph import STATIC_OP_TYPES, StaticPlan, plan_quantization
from compression.quantization.onnx_int8 import (
    BACKENDS,
    Int8File,
    Int8Settings,
    OnnxModel,
    int8_weights,
    settings_for,
)
from compression.quantization.qat import FakeQuant, attach_fake_quant
from compression.quantization.quantize import (
    INT8_FILE,
    QuantizedModel,
    calibration_batches,
    quantize_model,
)
from compression.quantization.report import Int8Report, inspect_int8

__all__ = [
    "BACKENDS",
    "INT8_FILE",
    "STATIC_OP_TYPES",
    "Calibration",
    "FakeQuant",
    "Int8File",
    "Int8Report",
    "Int8Settings",
    "OnnxModel",
    "QuantizedModel",
    "StaticPlan",
    "attach_fake_quant",
    "calibration_batches",
    "inspect_int8",
    "int8_weights",
    "plan_quantization",
    "quantize_model",
    "settings_for",
]
