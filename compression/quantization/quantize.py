"""One entry point per recipe: turn a trained (possibly pruned) fp32 model into an int8 model.

Every mode produces an int8 ONNX file run by ONNX Runtime (see ``onnx_int8`` for why):

- ``ptq_dynamic``: int8 weights of the linear layers; activations quantized per batch at run
  time. Conv layers stay fp32 (ORT dynamic int8 conv measured 0.26x of fp32, issue 3).
- ``ptq_static``: conv and linear layers, activation ranges calibrated on training batches.
- ``qat``: the model was fine-tuned with fake quantization (``qat.attach_fake_quant``); it is
  then converted like ``ptq_static``, calibrated on training batches.

Prune first, then quantize: weights are quantized symmetrically, so a zero weight stays 0.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from compression.batches import ModelInputs
from compression.measure.onnx_export import export_onnx
from compression.quantization.onnx_int8 import (
    Int8Settings,
    OnnxModel,
    quantize_onnx_dynamic,
    quantize_onnx_static,
    settings_for,
)
from compression.spec import QuantizeSpec, scalar

INT8_FILE = "model.int8.onnx"
RUNTIME = "onnxruntime"

_Handler = Callable[[Path, Path, Int8Settings, Sequence[ModelInputs]], Path]


def _dynamic(fp32: Path, out: Path, settings: Int8Settings,
             _calibration: Sequence[ModelInputs]) -> Path:
    return quantize_onnx_dynamic(fp32, out, settings)


def _static(fp32: Path, out: Path, settings: Int8Settings,
            calibration: Sequence[ModelInputs]) -> Path:
    return quantize_onnx_static(fp32, out, settings, calibration)


# Mode -> how its fp32 ONNX export becomes int8 (QAT has done its work during training).
HANDLERS: dict[str, _Handler] = {"ptq_dynamic": _dynamic, "ptq_static": _static, "qat": _static}


@dataclass(frozen=True)
class QuantizedModel:
    """An int8 model as saved: the ONNX file, and how it was made and where it runs."""

    path: Path
    mode: str
    backend: str
    settings: Int8Settings
    runtime: str = RUNTIME

    def load(self, *, threads: int = 1) -> OnnxModel:
        """A runnable session of the saved file (ONNX protobuf: nothing is unpickled)."""
        return OnnxModel(self.path, threads=threads)

    def describe(self) -> dict[str, object]:
        """What the run summary records about the quantization."""
        return {
            "mode": self.mode,
            "backend": self.backend,
            "runtime": self.runtime,
            "format": "onnx-qdq" if self.mode != "ptq_dynamic" else "onnx-integer-ops",
            "weights": "int8 symmetric " + ("per-channel" if self.settings.per_channel and
                                            self.mode != "ptq_dynamic" else "per-tensor"),
            "weight_bits": 7 if self.settings.reduce_range else 8,
            "activations": ("dynamic uint8" if self.mode == "ptq_dynamic"
                            else f"static {self.settings.activation}"),
        }


def calibration_batches(x: torch.Tensor, *, count: int, batch_size: int,
                        seed: int) -> list[torch.Tensor]:
    """``count`` batches of ``x`` in a seeded random order (fewer if ``x`` runs out)."""
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    return [x[order[i:i + batch_size]] for i in range(0, len(x), batch_size)][:count]


def quantize_model(model: nn.Module, spec: QuantizeSpec, *, example: ModelInputs,
                   calibration: Sequence[ModelInputs], out_dir: Path) -> QuantizedModel:
    """Quantize ``model`` (fp32, trained; left unchanged) and save it as ``out_dir/INT8_FILE``.

    Args:
        example: an input batch for the ONNX export (its batch dimension stays dynamic).
        calibration: model inputs of real batches, for static modes' activation ranges.
    Raises ``UnsupportedRecipeError`` for an unknown backend or a model ONNX cannot export.
    """
    mode, backend = spec.mode, scalar(spec.backend)
    if isinstance(mode, list):
        raise TypeError(f"unexpanded grid axis {mode!r}: expand the spec first")
    settings = settings_for(backend)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="squeezelab-quant-") as scratch:
        fp32 = export_onnx(model, example, Path(scratch) / "fp32.onnx")
        path = HANDLERS[mode](fp32, out_dir / INT8_FILE, settings, calibration)
    return QuantizedModel(path=path, mode=mode, backend=backend, settings=settings)
