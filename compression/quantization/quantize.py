"""One entry point per recipe: turn a trained (possibly pruned) fp32 model into an int8 model.

Every mode produces an int8 ONNX file run by ONNX Runtime (see ``onnx_int8`` for why):

- ``ptq_dynamic``: int8 weights of the linear layers; activations quantized per batch at run
  time. Conv layers stay fp32 (ORT dynamic int8 conv measured 0.26x of fp32, issue 3).
- ``ptq_static``: conv and linear layers, activation ranges calibrated on training batches
  (``calibration``: minmax, percentile or entropy); what stays float and why is in ``graph``.
- ``qat``: the model was fine-tuned with fake quantization of the layers int8 quantizes
  (``qat.attach_fake_quant``); it is then converted like ``ptq_static``.

Every mode honours the recipe's ``exclude`` (op types, node-name globs), and every saved file
has its scales and zero points checked (``checks``) before the run may succeed.

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
from compression.quantization.calibration import Calibration
from compression.quantization.onnx_int8 import (
    Int8File,
    Int8Settings,
    OnnxModel,
    quantize_onnx_dynamic,
    quantize_onnx_static,
    settings_for,
)
from compression.spec import QuantizeSpec, scalar

INT8_FILE = "model.int8.onnx"
RUNTIME = "onnxruntime"

_Handler = Callable[[Path, Path, Int8Settings, QuantizeSpec, Sequence[ModelInputs]], Int8File]


def calibration_of(spec: QuantizeSpec) -> Calibration:
    """The calibration method a (resolved) recipe asks for."""
    return Calibration(method=scalar(spec.calibration), percentile=scalar(spec.percentile))


def _dynamic(fp32: Path, out: Path, settings: Int8Settings, spec: QuantizeSpec,
             _calibration: Sequence[ModelInputs]) -> Int8File:
    return quantize_onnx_dynamic(fp32, out, settings, spec.exclude)


def _static(fp32: Path, out: Path, settings: Int8Settings, spec: QuantizeSpec,
            calibration: Sequence[ModelInputs]) -> Int8File:
    return quantize_onnx_static(fp32, out, settings, calibration,
                                calibrate=calibration_of(spec), exclude=spec.exclude)


# Mode -> how its fp32 ONNX export becomes int8 (QAT has done its work during training).
HANDLERS: dict[str, _Handler] = {"ptq_dynamic": _dynamic, "ptq_static": _static, "qat": _static}


@dataclass(frozen=True)
class QuantizedModel:
    """An int8 model as saved: the ONNX file, and how it was made and where it runs.

    made: the file with the plan it was made from (nodes kept float, and why) and its time.
    calibration: the calibration of static modes (None for ptq_dynamic), on ``batches`` batches.
    """

    path: Path
    mode: str
    backend: str
    settings: Int8Settings
    made: Int8File
    calibration: Calibration | None = None
    batches: int = 0
    runtime: str = RUNTIME

    def load(self, *, threads: int = 1) -> OnnxModel:
        """A runnable session of the saved file (ONNX protobuf: nothing is unpickled)."""
        return OnnxModel(self.path, threads=threads)

    def describe(self) -> dict[str, object]:
        """What the run summary records about the quantization."""
        described: dict[str, object] = {
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
        if self.calibration is not None:
            described["calibration"] = {
                "method": self.calibration.method, "batches": self.batches,
                **({"percentile": self.calibration.percentile}
                   if self.calibration.method == "percentile" else {}),
                # Calibration and quantization together; calibration is nearly all of it.
                "seconds": round(self.made.seconds, 3)}
        return described


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
        made = HANDLERS[mode](fp32, out_dir / INT8_FILE, settings, spec, calibration)
    static = mode != "ptq_dynamic"
    return QuantizedModel(path=made.path, mode=mode, backend=backend, settings=settings,
                          made=made, calibration=calibration_of(spec) if static else None,
                          batches=len(calibration) if static else 0)
