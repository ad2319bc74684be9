from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import torch
from torch import nn

from compression.errors import ImpossibleTargetError, UnsupportedRecipeError
from compression.pruning import sensitivity_table

pytestmark = pytest.mark.unit

Trained = tuple[nn.Module, torch.Tensor, torch.Tensor]


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(12, 32)
        self.fc2 = nn.Linear(32, 16)
        self.classifier = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


@pytest.fixture(scope="module")
def trained() -> Trained:
    """A small MLP trained on a random linear teacher's 4-class labels (well above chance)."""
    torch.manual_seed(0)
    x = torch.randn(600, 12)
    y = (x @ torch.randn(12, 4)).argmax(1)
    model = _Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    for _ in range(80):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model.eval(), x, y


def _evaluator(x: torch.Tensor, y: torch.Tensor) -> Callable[[nn.Module], float]:
    def evaluate(model: nn.Module) -> float:
        with torch.no_grad():
            return float((model.eval()(x).argmax(1) == y).float().mean())
    return evaluate


LEVELS = [0.0, 0.25, 0.5, 0.75, 0.95]


def test_unstructured_table_shows_heavier_pruning_hurting(trained: Trained) -> None:
    model, x, y = trained
    state = {k: v.clone() for k, v in model.state_dict().items()}
    evaluate = _evaluator(x, y)
    dense = evaluate(model)
    assert dense > 0.85

    table = sensitivity_table(model, levels=LEVELS, evaluate=evaluate,
                              granularity="unstructured", example_inputs=x[:2],
                              classifier="classifier")

    assert table.dense_value == dense and table.levels == LEVELS
    assert list(table.layers) == ["fc1", "fc2", "classifier"]
    assert all(len(row) == len(LEVELS) and row[0] == dense for row in table.layers.values())
    hurt = [name for name, row in table.layers.items() if row[0] > row[-1] + 0.1]
    assert hurt, table.layers
    # The original model is untouched.
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert json.loads(json.dumps(table.to_dict())) == {
        "levels": LEVELS, "layers": table.layers, "dense_value": dense, "metric": "accuracy",
        "goal": "max", "dense_accuracy": dense}


def test_channel_table_skips_the_classifier_and_leaves_the_model_whole(trained: Trained) -> None:
    model, x, y = trained
    shapes = [p.shape for p in model.parameters()]
    table = sensitivity_table(model, levels=LEVELS, evaluate=_evaluator(x, y),
                              granularity="channel", example_inputs=x[:2],
                              classifier="classifier", exclude=["fc2"])
    assert list(table.layers) == ["fc1"]
    row = table.layers["fc1"]
    assert row[0] == table.dense_value and row[0] > row[-1]
    assert [p.shape for p in model.parameters()] == shapes


def test_only_the_named_layer_is_pruned(trained: Trained) -> None:
    model, x, _ = trained
    seen: list[dict[str, int]] = []

    def record(copy: nn.Module) -> float:
        seen.append({n: int((m.weight == 0).sum()) for n, m in copy.named_modules()
                     if isinstance(m, nn.Linear)})
        return 0.0

    sensitivity_table(model, levels=[0.5], evaluate=record, granularity="unstructured",
                      example_inputs=x[:2], classifier="classifier")
    # Dense copy first, then fc1, fc2, classifier each pruned alone to half their weights.
    assert seen == [{"fc1": 0, "fc2": 0, "classifier": 0},
                    {"fc1": 192, "fc2": 0, "classifier": 0},
                    {"fc1": 0, "fc2": 256, "classifier": 0},
                    {"fc1": 0, "fc2": 0, "classifier": 32}]


def test_bad_levels_and_granularity_are_refused(trained: Trained) -> None:
    model, x, y = trained
    with pytest.raises(ImpossibleTargetError):
        sensitivity_table(model, levels=[1.0], evaluate=_evaluator(x, y),
                          granularity="unstructured", example_inputs=x[:2],
                          classifier="classifier")
    with pytest.raises(UnsupportedRecipeError):
        sensitivity_table(model, levels=[0.5], evaluate=_evaluator(x, y),
                          granularity="nm", example_inputs=x[:2],  # type: ignore[arg-type]
                          classifier="classifier")
