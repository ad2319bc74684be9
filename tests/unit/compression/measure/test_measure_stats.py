"""Sparsity against the dense model: zeroed weights and physically removed ones."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from compression.errors import UnsupportedRecipeError
from compression.measure.stats import weight_stats

pytestmark = pytest.mark.unit


def _net(hidden: int = 3) -> nn.Sequential:
    first, second = nn.Linear(4, hidden), nn.Linear(hidden, 2)
    with torch.no_grad():
        for module in (first, second):
            module.weight.fill_(0.5)
            module.bias.fill_(1.0)
    return nn.Sequential(first, nn.ReLU(), second)


def _linear(net: nn.Sequential, index: int) -> nn.Linear:
    layer = net[index]
    assert isinstance(layer, nn.Linear)
    return layer


def test_unstructured_zeros() -> None:
    dense, model = _net(), _net()
    with torch.no_grad():
        _linear(model, 0).weight.view(-1)[:6] = 0  # 6 of 12
        _linear(model, 2).weight.view(-1)[:1] = 0  # 1 of 6
    stats = weight_stats(model, dense_model=dense, prunable=["0", "2"])
    assert stats.sparsity == pytest.approx(7 / 18)
    assert stats.layer_sparsity == pytest.approx({"0": 0.5, "2": 1 / 6})
    assert stats.params_total == 12 + 3 + 6 + 2
    assert stats.params_nonzero == 23 - 7


def test_physically_removed_channels_count_as_pruned() -> None:
    dense, model = _net(hidden=3), _net(hidden=2)  # one hidden neuron removed
    with torch.no_grad():
        _linear(model, 2).weight[0, 0] = 0
    stats = weight_stats(model, dense_model=dense, prunable=["0", "2"])
    # layer 0: 8 of 12 dense weights left; layer 2: 3 nonzero of 6 dense weights.
    assert stats.layer_sparsity == pytest.approx({"0": 4 / 12, "2": 3 / 6})
    assert stats.sparsity == pytest.approx(1 - 11 / 18)
    assert stats.params_total == 8 + 2 + 4 + 2
    assert stats.params_nonzero == 15


def test_dense_model_against_itself() -> None:
    dense = _net()
    stats = weight_stats(dense, dense_model=dense, prunable=["0", "2"])
    assert stats.sparsity == 0.0
    assert stats.params_nonzero == stats.params_total == 23


def test_torch_prune_masks_are_seen() -> None:
    dense, model = _net(), _net()
    prune.l1_unstructured(_linear(model, 0), name="weight", amount=6)  # type: ignore[no-untyped-call]
    stats = weight_stats(model, dense_model=dense, prunable=["0"])
    assert stats.sparsity == pytest.approx(0.5)
    assert stats.params_total == 23
    assert stats.params_nonzero == 17


def test_unknown_layer_is_a_typed_error() -> None:
    dense = _net()
    with pytest.raises(UnsupportedRecipeError, match="classifier"):
        weight_stats(dense, dense_model=dense, prunable=["classifier"])
