"""Small models shared by the measurement tests."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import pytest
import torch
from torch import nn


def make_mlp(seed: int = 0) -> nn.Sequential:
    """LeNet-300-100 shape on 8x8 digits: 64-300-100-10."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(64, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(),
        nn.Linear(100, 10),
    )


def zero_smallest(weight: torch.Tensor, fraction: float) -> None:
    """Zero exactly ``int(fraction * numel)`` entries of ``weight`` in place."""
    with torch.no_grad():
        count = int(fraction * weight.numel())
        weight.view(-1)[weight.abs().flatten().argsort()[:count]] = 0


class ConvNet(nn.Module):
    """conv-bn-relu-pool twice, then a classifier; input (1, 8, 8)."""

    def __init__(self, c1: int = 8, c2: int = 16) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, c1, 3, padding=1), nn.BatchNorm2d(c1)
        self.conv2, self.bn2 = nn.Conv2d(c1, c2, 3, padding=1), nn.BatchNorm2d(c2)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(c2 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(torch.relu(self.bn1(self.conv1(x))))
        x = self.pool(torch.relu(self.bn2(self.conv2(x))))
        logits: torch.Tensor = self.fc(x.flatten(1))
        return logits


def _slice_bn(bn: nn.BatchNorm2d, keep: Sequence[int]) -> nn.BatchNorm2d:
    small = nn.BatchNorm2d(len(keep))
    small.load_state_dict(
        {k: v if v.dim() == 0 else v[list(keep)] for k, v in bn.state_dict().items()}
    )
    return small


def shrink_convnet(model: ConvNet, keep1: Sequence[int], keep2: Sequence[int]) -> ConvNet:
    """A copy of ``model`` with only the given conv1 / conv2 channels (sliced by hand)."""
    small = copy.deepcopy(model)
    k1, k2 = list(keep1), list(keep2)
    conv1, conv2, fc = model.conv1.state_dict(), model.conv2.state_dict(), model.fc.state_dict()
    small.conv1 = nn.Conv2d(1, len(k1), 3, padding=1)
    small.conv1.load_state_dict({"weight": conv1["weight"][k1], "bias": conv1["bias"][k1]})
    small.bn1 = _slice_bn(model.bn1, k1)
    small.conv2 = nn.Conv2d(len(k1), len(k2), 3, padding=1)
    small.conv2.load_state_dict({"weight": conv2["weight"][k2][:, k1], "bias": conv2["bias"][k2]})
    small.bn2 = _slice_bn(model.bn2, k2)
    columns = [c * 4 + s for c in k2 for s in range(4)]  # flatten order: channel, then 2x2
    small.fc = nn.Linear(len(columns), 10)
    small.fc.load_state_dict({"weight": fc["weight"][:, columns], "bias": fc["bias"]})
    return small


def trained_convnet(seed: int = 0) -> ConvNet:
    """A ConvNet whose BatchNorm statistics are not the defaults."""
    torch.manual_seed(seed)
    model = ConvNet()
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(16, 1, 8, 8))
    return model.eval()


@pytest.fixture
def mlp() -> nn.Sequential:
    return make_mlp()


@pytest.fixture
def sparse_mlp() -> nn.Sequential:
    """The MLP with 90% of every Linear weight zeroed."""
    model = make_mlp()
    for module in model:
        if isinstance(module, nn.Linear):
            zero_smallest(module.weight, 0.9)
    return model


@pytest.fixture
def convnet() -> ConvNet:
    return trained_convnet()


@pytest.fixture
def shrink() -> Callable[[ConvNet, Sequence[int], Sequence[int]], ConvNet]:
    return shrink_convnet


@pytest.fixture
def new_convnet() -> Callable[[], ConvNet]:
    """Builds a fresh dense ConvNet (different weights from the ``convnet`` fixture)."""
    return lambda: ConvNet()

