"""Quantization-aware training: fake-quantized weights and inputs of conv and linear layers.

The fake quantization mirrors the int8 model that ONNX Runtime builds afterwards
(``onnx_int8.quantize_onnx_static``): weights int8, symmetric, one scale per output channel
(7-bit with ``reduce_range``); each layer's input uint8, asymmetric, one scale per tensor, its
range tracked as a moving min/max. Rounding passes gradients straight through (STE), which is
what ``torch.fake_quantize_*`` implement.

Layers are switched to a fake-quant subclass in place (``module.__class__``) rather than
replaced: the pruner holds references to the layer objects and their weight parameters, and
those stay valid, so pruning masks keep working during QAT. ``FakeQuant.remove`` switches
them back, leaving plain fp32 layers with the trained weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

# How fast the tracked activation range follows new batches (torch.ao's default constant).
RANGE_MOMENTUM = 0.01


@dataclass
class _Range:
    """Moving min/max of a layer's input, plus the weight's integer range."""

    weight_qmax: int
    lo: float | None = None
    hi: float = 0.0

    def observe(self, x: torch.Tensor) -> None:
        lo, hi = float(x.detach().min()), float(x.detach().max())
        if self.lo is None:
            self.lo, self.hi = lo, hi
        else:
            self.lo += RANGE_MOMENTUM * (lo - self.lo)
            self.hi += RANGE_MOMENTUM * (hi - self.hi)


def fake_quant_weight(weight: torch.Tensor, qmax: int) -> torch.Tensor:
    """Symmetric per-output-channel fake quantization to integers in [-qmax, qmax]."""
    dims = tuple(range(1, weight.dim()))
    scale = weight.detach().abs().amax(dim=dims).clamp_min(1e-12) / qmax
    zero = torch.zeros(weight.shape[0], dtype=torch.int32, device=weight.device)
    return torch.fake_quantize_per_channel_affine(weight, scale.float(), zero, 0, -qmax, qmax)


def fake_quant_input(x: torch.Tensor, state: _Range, *, observe: bool) -> torch.Tensor:
    """Asymmetric uint8 fake quantization over the tracked range (which always holds 0).

    observe: update the range with this batch (in training mode; evaluation keeps it).
    """
    if observe:
        state.observe(x)
    lo, hi = min(state.lo or 0.0, 0.0), max(state.hi, 0.0)
    if hi - lo <= 0.0:
        return x
    scale = (hi - lo) / 255.0
    zero_point = min(max(round(-lo / scale), 0), 255)
    return torch.fake_quantize_per_tensor_affine(x, scale, zero_point, 0, 255)


class _QATLinear(nn.Linear):
    _qat: _Range

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(fake_quant_input(x, self._qat, observe=self.training),
                        fake_quant_weight(self.weight, self._qat.weight_qmax), self.bias)


def _conv_forward(conv: nn.Conv1d | nn.Conv2d, state: _Range, x: torch.Tensor) -> torch.Tensor:
    """A convolution on fake-quantized input and weight (shared by the 1D and 2D classes)."""
    out: torch.Tensor = conv._conv_forward(
        fake_quant_input(x, state, observe=conv.training),
        fake_quant_weight(conv.weight, state.weight_qmax), conv.bias)
    return out


class _QATConv1d(nn.Conv1d):
    _qat: _Range

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _conv_forward(self, self._qat, x)


class _QATConv2d(nn.Conv2d):
    _qat: _Range

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _conv_forward(self, self._qat, x)


_FAKE_QUANT: dict[type[nn.Module], type[nn.Module]] = {
    nn.Linear: _QATLinear, nn.Conv1d: _QATConv1d, nn.Conv2d: _QATConv2d,
}


class FakeQuant:
    """Fake quantization attached to every Linear / Conv1d / Conv2d layer of a model."""

    def __init__(self, model: nn.Module, *, reduce_range: bool) -> None:
        self._layers: list[tuple[nn.Module, type[nn.Module]]] = []
        qmax = 63 if reduce_range else 127
        for module in model.modules():
            original = type(module)  # exact types only: a user's subclass keeps its forward
            swapped = _FAKE_QUANT.get(original)
            if swapped is None:
                continue
            module.__class__ = swapped
            cast(_QATLinear, module)._qat = _Range(weight_qmax=qmax)
            self._layers.append((module, original))

    def __len__(self) -> int:
        return len(self._layers)

    def remove(self) -> None:
        """Switch every layer back to its fp32 class; the trained weights stay."""
        for module, original in self._layers:
            module.__class__ = original
            del module._qat
        self._layers.clear()


def attach_fake_quant(model: nn.Module, *, reduce_range: bool) -> FakeQuant:
    """Fake-quantize ``model``'s conv and linear layers in place until ``remove()``."""
    return FakeQuant(model, reduce_range=reduce_range)
