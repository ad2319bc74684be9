"""Fake quantization for QAT: close to fp32, gradients pass through, removable, prune-safe."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from compression.pruning.targets import weight_of
from compression.quantization import attach_fake_quant
from compression.quantization.qat import fake_quant_weight
from compression.tasks.models import DigitsCNN, DigitsMLP

pytestmark = pytest.mark.unit


def test_weights_take_at_most_2_qmax_plus_1_levels_per_channel() -> None:
    weight = torch.randn(4, 50)
    q = fake_quant_weight(weight, 63)
    for row, original in zip(q, weight, strict=True):
        scale = original.abs().max() / 63
        levels = torch.round(row / scale)
        assert torch.allclose(levels * scale, row, atol=1e-6)
        assert levels.abs().max() <= 63
    assert torch.allclose(q, weight, atol=float(weight.abs().max()) / 63)


@pytest.mark.parametrize("factory,shape", [(DigitsMLP, (64,)), (DigitsCNN, (1, 8, 8))])
def test_fake_quant_is_close_trains_and_comes_off(factory: type[nn.Module],
                                                  shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    model = factory()
    reference = copy.deepcopy(model).eval()
    x = torch.randn(32, *shape)
    handle = attach_fake_quant(model, reduce_range=True, example=x[:2])
    assert len(handle) == sum(isinstance(m, nn.Linear | nn.Conv2d) for m in reference.modules())
    model.train()
    model(x)  # observe activation ranges (and update BatchNorm statistics ...)
    reference.train()
    reference(x)  # (... the same way in the reference)
    reference.eval()
    model.eval()
    fake = model(x)
    expected = reference(x)
    assert not torch.equal(fake, expected)
    assert (fake.argmax(1) == expected.argmax(1)).float().mean() >= 0.9
    # Straight-through gradients reach every weight.
    model.train()
    model(x).sum().backward()
    reference.train()
    reference(x)
    reference.eval()
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for n, p in model.named_parameters() if n.endswith("weight") and p.dim() > 1)
    # The weight stays a plain parameter, so pruning masks (weight_of) keep working.
    assert isinstance(weight_of(model.fc1 if hasattr(model, "fc1") else model.conv1), nn.Parameter)
    handle.remove()
    assert all(type(m) in (nn.Linear, nn.Conv2d) for m in model.modules()
               if isinstance(m, nn.Linear | nn.Conv2d))
    # Plain fp32 again, with no extra state: a fresh model loads its weights strictly and
    # computes the same outputs.
    fresh = factory()
    fresh.load_state_dict(model.state_dict())
    assert torch.equal(model.eval()(x), fresh.eval()(x))
