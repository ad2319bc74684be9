"""MACs as run and density-scaled, against hand-computed numbers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from compression.measure.macs import count_macs

pytestmark = pytest.mark.unit

MLP_MACS = 64 * 300 + 300 * 100 + 100 * 10  # 50,200


def test_dense_mlp(mlp: nn.Module) -> None:
    assert count_macs(mlp, torch.randn(1, 1, 8, 8)) == (MLP_MACS, MLP_MACS)
    assert count_macs(mlp, torch.randn(2, 1, 8, 8)) == (2 * MLP_MACS, 2 * MLP_MACS)


def _weight(model: nn.Sequential, index: int) -> torch.Tensor:
    layer = model[index]
    assert isinstance(layer, nn.Linear | nn.Conv2d)
    return layer.weight


def test_sparse_mlp_scales_by_density(mlp: nn.Sequential) -> None:
    with torch.no_grad():
        _weight(mlp, 1).view(-1)[:17280] = 0  # 90% of 64·300
        _weight(mlp, 3).view(-1)[:15000] = 0  # 50% of 300·100
    macs, effective = count_macs(mlp, torch.randn(1, 1, 8, 8))
    assert macs == MLP_MACS
    assert effective == 1920 + 15000 + 1000


def test_conv_layers() -> None:
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10)
    )
    conv_macs = 4 * 6 * 6 * (1 * 3 * 3)  # out channels · positions · (in · kernel)
    with torch.no_grad():
        _weight(model, 0).view(-1)[:18] = 0  # half of 36 weights
    macs, effective = count_macs(model, torch.randn(1, 1, 8, 8))
    assert macs == conv_macs + 144 * 10
    assert effective == conv_macs // 2 + 144 * 10


def test_conv1d_and_grouped_conv() -> None:
    model = nn.Sequential(nn.Conv1d(2, 4, 5), nn.Conv1d(4, 4, 3, groups=2))
    # 4·16·(2·5) + 4·14·(2·3): a grouped conv sees in/groups channels per output.
    assert count_macs(model, torch.randn(1, 2, 20)) == (640 + 336, 640 + 336)


def test_mode_restored(mlp: nn.Module) -> None:
    mlp.train()
    count_macs(mlp, torch.randn(1, 1, 8, 8))
    assert mlp.training
