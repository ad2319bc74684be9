"""Quantization-aware training: fake quantization of exactly what the int8 graph quantizes.

The int8 model of a QAT run is made afterwards by the static quantizer
(``onnx_int8.quantize_onnx_static``), so QAT fakes its quantization points, layer by layer
(``qat_sites.find_sites`` finds the layers from the same plan the quantizer follows):

==========================  ================================  ===========================
int8 graph (QDQ)            QAT                               how
==========================  ================================  ===========================
weight of a Conv/Gemm/      the layer's weight                int8 symmetric, per output
MatMul-of-a-constant                                          channel (7-bit with
                                                              ``reduce_range``)
input activation            the layer's input                 uint8 asymmetric, per tensor
output activation           the layer's output (before the    uint8 asymmetric, per tensor
                            bias for a MatMul + Add export;
                            after a folded BatchNorm)
activation × activation     not faked                         float in both
MatMul, excluded nodes
==========================  ================================  ===========================

Activation ranges are a moving min/max of the training batches (int8 calibrates them again,
with the recipe's method); Relu and pooling outputs between layers are the next layer's input
and are faked there. Rounding passes gradients straight through (STE), which is what
``torch.fake_quantize_*`` implement.

Layers are switched to a fake-quant subclass in place (``module.__class__``) rather than
replaced: the pruner holds references to the layer objects and their weight parameters, and
those stay valid, so pruning masks keep working during QAT. ``FakeQuant.remove`` switches
them back, leaving plain fp32 layers with the trained weights.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from compression.batches import ModelInputs
from compression.quantization.qat_sites import Sites, find_sites
from compression.spec.models import QuantizeExclude

# How fast the tracked activation range follows new batches (torch.ao's default constant).
RANGE_MOMENTUM = 0.01
log = logging.getLogger(__name__)


@dataclass
class _Range:
    """Moving min/max of one activation tensor."""

    lo: float | None = None
    hi: float = 0.0

    def observe(self, x: torch.Tensor) -> None:
        lo, hi = float(x.detach().min()), float(x.detach().max())
        if self.lo is None:
            self.lo, self.hi = lo, hi
        else:
            self.lo += RANGE_MOMENTUM * (lo - self.lo)
            self.hi += RANGE_MOMENTUM * (hi - self.hi)


@dataclass
class _LayerQuant:
    """A layer's quantization points: weight, input, and output unless a BatchNorm takes it."""

    weight_qmax: int
    output: _Range | None
    before_bias: bool = False
    input: _Range = field(default_factory=_Range)


def fake_quant_weight(weight: torch.Tensor, qmax: int) -> torch.Tensor:
    """Symmetric per-output-channel fake quantization to integers in [-qmax, qmax]."""
    dims = tuple(range(1, weight.dim()))
    scale = weight.detach().abs().amax(dim=dims).clamp_min(1e-12) / qmax
    zero = torch.zeros(weight.shape[0], dtype=torch.int32, device=weight.device)
    return torch.fake_quantize_per_channel_affine(weight, scale.float(), zero, 0, -qmax, qmax)


def fake_quant_activation(x: torch.Tensor, state: _Range, *, observe: bool) -> torch.Tensor:
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


def _output(y: torch.Tensor, q: _LayerQuant, training: bool) -> torch.Tensor:
    return y if q.output is None else fake_quant_activation(y, q.output, observe=training)


class _QATLinear(nn.Linear):
    _qat: _LayerQuant

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self._qat
        x = fake_quant_activation(x, q.input, observe=self.training)
        weight = fake_quant_weight(self.weight, q.weight_qmax)
        if not q.before_bias:
            return _output(F.linear(x, weight, self.bias), q, self.training)
        y = _output(F.linear(x, weight), q, self.training)
        return y if self.bias is None else y + self.bias


def _conv_forward(conv: nn.Conv1d | nn.Conv2d, q: _LayerQuant, x: torch.Tensor) -> torch.Tensor:
    """A convolution on fake-quantized input and weight (shared by the 1D and 2D classes)."""
    out: torch.Tensor = conv._conv_forward(
        fake_quant_activation(x, q.input, observe=conv.training),
        fake_quant_weight(conv.weight, q.weight_qmax), conv.bias)
    return _output(out, q, conv.training)


class _QATConv1d(nn.Conv1d):
    _qat: _LayerQuant

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _conv_forward(self, self._qat, x)


class _QATConv2d(nn.Conv2d):
    _qat: _LayerQuant

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _conv_forward(self, self._qat, x)


class _QATBatchNorm1d(nn.BatchNorm1d):
    """A BatchNorm that the export folds into the conv before it: int8 quantizes its output."""

    _qat_output: _Range

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fake_quant_activation(super().forward(x), self._qat_output, observe=self.training)


class _QATBatchNorm2d(nn.BatchNorm2d):
    _qat_output: _Range

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fake_quant_activation(super().forward(x), self._qat_output, observe=self.training)


_FAKE_QUANT: dict[type[nn.Module], type[nn.Module]] = {
    nn.Linear: _QATLinear, nn.Conv1d: _QATConv1d, nn.Conv2d: _QATConv2d,
    nn.BatchNorm1d: _QATBatchNorm1d, nn.BatchNorm2d: _QATBatchNorm2d,
}


class FakeQuant:
    """Fake quantization attached to the layers of ``sites`` until ``remove()``."""

    def __init__(self, model: nn.Module, sites: Sites, *, reduce_range: bool) -> None:
        self.sites = sites
        self._swapped: list[tuple[nn.Module, type[nn.Module]]] = []
        modules = dict(model.named_modules())
        qmax = 63 if reduce_range else 127
        for site in sites.layers:
            norm = modules.get(site.output_at) if site.output_at not in (
                "bias", "before_bias") else None
            # The swapped classes declare these attributes; _QATLinear stands for all three.
            cast(_QATLinear, self._swap(modules[site.module]))._qat = _LayerQuant(
                weight_qmax=qmax, output=None if norm is not None else _Range(),
                before_bias=site.output_at == "before_bias")
            if norm is not None:
                cast(_QATBatchNorm2d, self._swap(norm))._qat_output = _Range()
        if sites.unmatched:
            log.warning("QAT fakes no quantization for %d weighted node(s) the int8 graph "
                        "quantizes (no Linear/Conv module of their own): %s",
                        len(sites.unmatched), ", ".join(sites.unmatched[:5]))

    def _swap(self, module: nn.Module) -> nn.Module:
        original = type(module)
        module.__class__ = _FAKE_QUANT[original]
        self._swapped.append((module, original))
        return module

    def __len__(self) -> int:
        return len(self.sites.layers)

    def remove(self) -> None:
        """Switch every module back to its fp32 class; the trained weights stay."""
        for module, original in self._swapped:
            module.__class__ = original
            for attr in ("_qat", "_qat_output"):
                if attr in module.__dict__:
                    delattr(module, attr)
        self._swapped.clear()


def attach_fake_quant(model: nn.Module, *, reduce_range: bool, example: ModelInputs,
                      exclude: QuantizeExclude | None = None) -> FakeQuant:
    """Fake-quantize, in place until ``remove()``, the layers whose nodes the int8 export of
    ``model`` (on ``example`` inputs) quantizes, ``exclude`` taken into account."""
    sites = find_sites(model, example, exclude or QuantizeExclude())
    return FakeQuant(model, sites, reduce_range=reduce_range)
