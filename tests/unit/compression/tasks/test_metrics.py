"""Streaming metrics agree with their definitions (scikit-learn's where it has one)."""

from __future__ import annotations

import math

import pytest
import torch
from sklearn.metrics import f1_score

from compression.errors import TaskContractError
from compression.tasks import cross_entropy
from compression.tasks.metrics import (
    MacroF1,
    MeanLoss,
    Perplexity,
    TopKAccuracy,
    builtin_metric,
    goal_of,
    metric_factories,
)

pytestmark = pytest.mark.unit


def _batches(seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(n, 5, generator=g), torch.randint(0, 5, (n,), generator=g))
            for n in (7, 30, 1)]


def test_macro_f1_matches_scikit_learn_over_several_batches() -> None:
    metric = MacroF1()
    preds, labels = [], []
    for logits, y in _batches():
        metric.update(logits, y)
        preds += logits.argmax(1).tolist()
        labels += y.tolist()
    assert metric.compute() == pytest.approx(f1_score(labels, preds, average="macro"), abs=1e-9)


def test_macro_f1_grows_with_classes_seen_later() -> None:
    metric = MacroF1()
    metric.update(torch.tensor([[2.0, 0.0]]), torch.tensor([0]))
    metric.update(torch.tensor([[0.0, 0.0, 0.0, 1.0]]), torch.tensor([3]))
    assert metric.compute() == 1.0


def test_top_k_and_ignored_tokens() -> None:
    logits = torch.tensor([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0]])
    top1, top2 = TopKAccuracy(1), TopKAccuracy(2)
    for m in (top1, top2):
        m.update(logits, torch.tensor([1, 2]))
    assert top1.compute() == 0.5 and top2.compute() == 1.0
    tokens = TopKAccuracy(1)
    tokens.update(logits.view(1, 2, 3), torch.tensor([[0, -100]]))  # padding is ignored
    assert tokens.compute() == 1.0 and tokens.total == 1


def test_perplexity_is_exp_of_mean_token_cross_entropy() -> None:
    g = torch.Generator().manual_seed(1)
    logits, targets = torch.randn(2, 6, 11, generator=g), torch.randint(0, 11, (2, 6),
                                                                         generator=g)
    targets[1, 4:] = -100
    metric = Perplexity()
    metric.update(logits[:1], targets[:1])
    metric.update(logits[1:], targets[1:])
    expected = math.exp(float(cross_entropy(logits, targets)))
    assert metric.compute() == pytest.approx(expected, rel=1e-6)
    assert metric.goal == "min"


def test_mean_loss_weighs_batches_by_size() -> None:
    metric = MeanLoss(cross_entropy)
    everything = _batches()
    for logits, y in everything:
        metric.update(logits, y)
    all_logits = torch.cat([b[0] for b in everything])
    all_y = torch.cat([b[1] for b in everything])
    assert metric.compute() == pytest.approx(float(cross_entropy(all_logits, all_y)), rel=1e-5)


def test_names_goals_and_custom_factories() -> None:
    assert builtin_metric("top5_accuracy", cross_entropy)().k == 5  # type: ignore[attr-defined]
    with pytest.raises(TaskContractError, match="unknown metric"):
        builtin_metric("bleu", cross_entropy)

    class Custom:
        goal = "min"

        def update(self, logits: torch.Tensor, targets: object) -> None: ...

        def compute(self) -> float:
            return 0.0

    factories = metric_factories({"err": Custom, "acc": "accuracy"}, cross_entropy)
    assert goal_of("err", factories["err"]) == "min"
    assert goal_of("acc", factories["acc"]) == "max"

    class NoGoal:
        def update(self, logits: torch.Tensor, targets: object) -> None: ...

        def compute(self) -> float:
            return 0.0

    with pytest.raises(TaskContractError, match="goal"):
        goal_of("mystery", NoGoal)  # type: ignore[arg-type]


def test_float_targets_are_refused_by_class_metrics() -> None:
    with pytest.raises(TaskContractError, match="integer class targets"):
        TopKAccuracy().update(torch.zeros(2, 3), torch.zeros(2))
