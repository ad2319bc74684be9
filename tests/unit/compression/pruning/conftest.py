"""Small models shared by the pruning tests (defined here, not imported from tasks)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn


class MLP(nn.Module):
    """Linear-ReLU-Linear-ReLU-Linear."""

    def __init__(self, d_in: int = 16, h1: int = 32, h2: int = 24, classes: int = 4) -> None:
        super().__init__()
        self.fc1 = nn.Linear(d_in, h1)
        self.fc2 = nn.Linear(h1, h2)
        self.classifier = nn.Linear(h2, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


class CNN2d(nn.Module):
    """conv-bn-relu-pool-conv-bn-relu-pool-flatten-fc-relu-fc on 1x8x8 inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.fc = nn.Linear(16 * 2 * 2, 32)
        self.classifier = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.relu(self.fc(self.features(x).flatten(1))))


class CNN1d(nn.Module):
    """Conv1d stack + flatten + Linear on 1x40 inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(1, 8, 5, padding=2)
        self.conv2 = nn.Conv1d(8, 16, 5, padding=2, stride=2)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(16 * 20, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.classifier(self.flatten(x))


INPUT_SHAPES = {"mlp": (16,), "cnn2d": (1, 8, 8), "cnn1d": (1, 40)}
FACTORIES = {"mlp": MLP, "cnn2d": CNN2d, "cnn1d": CNN1d}


def make(kind: str, seed: int = 0) -> tuple[nn.Module, torch.Tensor]:
    """A seeded model of ``kind`` with non-trivial BatchNorm state, and a batch of inputs."""
    torch.manual_seed(seed)
    model = FACTORIES[kind]()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            # Random BN state, so that a wrong channel mapping changes the outputs.
            with torch.no_grad():
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    return model.eval(), torch.randn(6, *INPUT_SHAPES[kind])


@pytest.fixture(params=sorted(FACTORIES))
def any_model(request: pytest.FixtureRequest) -> tuple[nn.Module, torch.Tensor]:
    return make(request.param)


@pytest.fixture
def make_model() -> Callable[..., tuple[nn.Module, torch.Tensor]]:
    """The ``make`` factory, for tests that need a particular model or several copies."""
    return make
