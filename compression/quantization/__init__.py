"""Quantization: int8 models (dynamic, static, QAT) built and run with ONNX Runtime."""

from compression.quantization.onnx_int8 import (
    BACKENDS,
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

__all__ = [
    "BACKENDS",
    "INT8_FILE",
    "FakeQuant",
    "Int8Settings",
    "OnnxModel",
    "QuantizedModel",
    "attach_fake_quant",
    "calibration_batches",
    "int8_weights",
    "quantize_model",
    "settings_for",
]
