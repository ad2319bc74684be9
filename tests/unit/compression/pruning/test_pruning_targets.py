from __future__ import annotations

import pytest
from torch import nn

from compression.pruning import PRUNABLE_TYPES, prunable_layers

pytestmark = pytest.mark.unit


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Conv1d(4, 4, 1))
        self.fc = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 8)
        self.classifier = nn.Linear(8, 2)


def test_prunable_layers_in_module_order() -> None:
    layers = prunable_layers(Net())
    assert list(layers) == ["features.0", "features.2", "fc", "fc2", "classifier"]
    assert all(isinstance(m, PRUNABLE_TYPES) for m in layers.values())


@pytest.mark.parametrize(
    ("exclude", "left"),
    [
        (["classifier"], ["features.0", "features.2", "fc", "fc2"]),
        (["features.*"], ["fc", "fc2", "classifier"]),
        (["features"], ["fc", "fc2", "classifier"]),  # a parent's name covers its children
        (["fc"], ["features.0", "features.2", "fc2", "classifier"]),  # whole-name match only
        (["fc*", "features.2"], ["features.0", "classifier"]),
        (["nothing"], ["features.0", "features.2", "fc", "fc2", "classifier"]),
    ],
)
def test_exclude_patterns(exclude: list[str], left: list[str]) -> None:
    assert list(prunable_layers(Net(), exclude)) == left
