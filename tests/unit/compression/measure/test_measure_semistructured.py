"""2:4 semi-structured kernels: which layers qualify, and why the others stay dense."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from compression.measure.semistructured import is_2to4, semi_structured_copy
from compression.pruning import nm_masks

pytestmark = pytest.mark.unit


def test_2to4_is_checked_group_by_group() -> None:
    weight = torch.tensor([[1.0, 0.0, 2.0, 0.0, 0.0, 0.0, 3.0, 4.0]])
    assert is_2to4(weight)
    weight[0, 1] = 5.0
    assert not is_2to4(weight)
    assert not is_2to4(torch.ones(2, 6))  # not a whole number of groups


def test_layers_that_cannot_use_the_kernels_say_why() -> None:
    model = nn.Sequential(nn.Linear(64, 64), nn.Linear(64, 20), nn.Linear(20, 10))
    layers = {"0": model[0], "1": model[1]}
    masks, _ = nm_masks(layers, 2, 4)
    with torch.no_grad():
        for name, mask in masks.items():
            layers[name].weight.mul_(mask)
    _, converted, skipped = semi_structured_copy(model, torch.float32)
    assert skipped["2"] == "not 2:4 sparse"
    assert "kernels take multiples of 32x64" in skipped["1"]  # 20 rows
    if not torch.cuda.is_available():  # the kernels are CUDA-only: the conversion says so
        assert converted == [] and "0" in skipped
