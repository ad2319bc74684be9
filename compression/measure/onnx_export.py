"""ONNX export with a dynamic batch dimension: inputs named as ``batches.input_names`` names
them ("input" for a model of one tensor, the keys of named inputs), output "logits"."""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path

import torch
from torch import nn

from compression.batches import FlatInputs, ModelInputs, input_names, resize, tensors_of
from compression.errors import UnsupportedRecipeError

_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the dynamo exporter colours its messages
OUTPUT_NAME = "logits"


def _export_torchscript(model: nn.Module, args: tuple[torch.Tensor, ...], names: list[str],
                        path: Path) -> None:
    axes = {name: {0: "batch"} for name in [*names, OUTPUT_NAME]}
    with warnings.catch_warnings():
        # The TorchScript exporter warns that it is deprecated on every call; we chose it on
        # purpose (see export_onnx). Tracing a Hugging Face model warns about its Python
        # control flow on shapes, which a fixed-length example keeps constant.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            args,
            str(path),
            dynamo=False,
            input_names=names,
            output_names=[OUTPUT_NAME],
            dynamic_axes=axes,
            do_constant_folding=True,
        )


def _export_dynamo(model: nn.Module, args: tuple[torch.Tensor, ...], names: list[str],
                   path: Path) -> None:
    batch = torch.export.Dim("batch")
    shapes = tuple({0: batch} for _ in args)
    # The dynamo exporter prints its progress to stdout; a worker's log does not need it.
    with contextlib.redirect_stdout(io.StringIO()):
        torch.onnx.export(
            model,
            args,
            str(path),
            dynamo=True,
            input_names=names,
            output_names=[OUTPUT_NAME],
            # FlatInputs.forward takes *tensors: torch.export sees them as one tuple argument.
            dynamic_shapes=(shapes,) if isinstance(model, FlatInputs) else shapes,
            external_data=False,
        )


def _plain(model: nn.Module, example: ModelInputs) -> bool:
    if not isinstance(example, torch.Tensor):
        return False
    with torch.no_grad():
        return isinstance(model(example), torch.Tensor)


def _headline(exc: Exception) -> str:
    """The first line of an exporter error (the rest is a graph dump)."""
    text = _ANSI.sub("", str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def export_onnx(model: nn.Module, example_inputs: ModelInputs, path: Path) -> Path:
    """Export ``model`` (in eval mode) to ``path``; the batch dimension stays dynamic.

    Inputs of any structure are exported as named tensors (``batches.input_names``) through
    ``FlatInputs``, and the output is the logits. The TorchScript exporter (``dynamo=False``)
    is tried first: for the small Linear/Conv/BatchNorm/MaxPool/ReLU/Flatten models we
    measure it takes 20-250 ms per export
    on a 2-core CPU, where the default dynamo exporter (torch.export + onnxscript) takes 2-5 s
    for the same graphs with identical onnxruntime outputs. The dynamo exporter remains the
    fallback for models the TorchScript tracer cannot export. Raises
    ``UnsupportedRecipeError`` when neither can (e.g. torch.ao quantized modules).
    """
    path = Path(path)
    # torch.export specialises a dimension of size 1; a batch of 2 keeps it dynamic.
    example_inputs = resize(example_inputs, 2)
    names = input_names(example_inputs)
    args = tuple(tensors_of(example_inputs))
    was_training = model.training
    model.eval()
    # A model of one tensor in and logits out is exported as it is (its initializers keep
    # their names); any other goes behind FlatInputs.
    subject = model if _plain(model, example_inputs) else FlatInputs(model, example_inputs).eval()
    try:
        try:
            _export_torchscript(subject, args, names, path)
        except Exception as first:  # any tracer failure: try the other exporter
            try:
                _export_dynamo(subject, args, names, path)
            except Exception as second:
                raise UnsupportedRecipeError(
                    f"this model cannot be exported to ONNX: {_headline(first)}; "
                    f"dynamo exporter: {_headline(second)}"
                ) from second
    finally:
        model.train(was_training)
    return path
