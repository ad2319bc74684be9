"""ONNX export with a dynamic batch dimension (input "input", output "logits")."""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path

import torch
from torch import nn

from compression.errors import UnsupportedRecipeError

_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the dynamo exporter colours its messages
INPUT_NAME = "input"
OUTPUT_NAME = "logits"


def _export_torchscript(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    with warnings.catch_warnings():
        # The TorchScript exporter warns that it is deprecated on every call; we chose it on
        # purpose (see export_onnx).
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (example,),
            str(path),
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            do_constant_folding=True,
        )


def _export_dynamo(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    batch = torch.export.Dim("batch")
    # The dynamo exporter prints its progress to stdout; a worker's log does not need it.
    with contextlib.redirect_stdout(io.StringIO()):
        torch.onnx.export(
            model,
            (example,),
            str(path),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: batch},),
            external_data=False,
        )


def _headline(exc: Exception) -> str:
    """The first line of an exporter error (the rest is a graph dump)."""
    text = _ANSI.sub("", str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def export_onnx(model: nn.Module, example_inputs: torch.Tensor, path: Path) -> Path:
    """Export ``model`` (in eval mode) to ``path``; the batch dimension stays dynamic.

    The TorchScript exporter (``dynamo=False``) is tried first: for the small
    Linear/Conv/BatchNorm/MaxPool/ReLU/Flatten models we measure it takes 20-250 ms per export
    on a 2-core CPU, where the default dynamo exporter (torch.export + onnxscript) takes 2-5 s
    for the same graphs with identical onnxruntime outputs. The dynamo exporter remains the
    fallback for models the TorchScript tracer cannot export. Raises
    ``UnsupportedRecipeError`` when neither can (e.g. torch.ao quantized modules).
    """
    path = Path(path)
    if example_inputs.shape[0] == 1:
        # torch.export specialises a dimension of size 1; a batch of 2 keeps it dynamic.
        example_inputs = torch.cat([example_inputs, example_inputs])
    was_training = model.training
    model.eval()
    try:
        try:
            _export_torchscript(model, example_inputs, path)
        except Exception as first:  # any tracer failure: try the other exporter
            try:
                _export_dynamo(model, example_inputs, path)
            except Exception as second:
                raise UnsupportedRecipeError(
                    f"this model cannot be exported to ONNX: {_headline(first)}; "
                    f"dynamo exporter: {_headline(second)}"
                ) from second
    finally:
        model.train(was_training)
    return path
