from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from compression.pruning import MaskSet, build_pruner
from compression.spec import PruneSpec

pytestmark = pytest.mark.unit

Make = Callable[..., tuple[nn.Module, torch.Tensor]]


def test_apply_zeroes_masked_weights_only_and_sparsity_counts_them() -> None:
    layer = nn.Linear(4, 2)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    masks = MaskSet()
    mask = torch.tensor([[True, False, True, False], [False, False, True, True]])
    masks.set("l", layer, mask)
    masks.apply()
    assert torch.equal(layer.weight != 0, mask)
    assert masks.sparsity() == 0.5
    assert "l" in masks and len(masks) == 1 and list(masks) == ["l"]


def test_a_mask_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="shape"):
        MaskSet().set("l", nn.Linear(4, 2), torch.ones(4, 2, dtype=torch.bool))


def _finetune(model: nn.Module, inputs: torch.Tensor, steps: int,
              after_step: Callable[[], None]) -> None:
    """A real Adam loop (with weight decay) on a regression to random targets."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-3)
    target = torch.randn(inputs.shape[0], 4)
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(inputs), target).backward()
        optimizer.step()
        after_step()


@pytest.mark.parametrize(
    "spec",
    [PruneSpec(granularity="unstructured", scope="global"), PruneSpec(granularity="nm")],
    ids=["unstructured", "nm"],
)
def test_masked_weights_stay_exactly_zero_through_adam_finetuning(
    make_model: Make, spec: PruneSpec
) -> None:
    model, inputs = make_model("mlp")
    model.train()
    pruner = build_pruner(spec, model, example_inputs=inputs, classifier="classifier")
    pruner.prune_to(0.75)
    pruned = {n: (m.weight == 0).clone() for n, m in model.named_modules()
              if isinstance(m, nn.Linear)}
    assert sum(int(p.sum()) for p in pruned.values()) > 0

    def check() -> None:
        pruner.enforce()
        for name, module in model.named_modules():
            if name in pruned:
                assert (module.weight[pruned[name]] == 0).all(), name

    _finetune(model, inputs, 25, check)
    # The weights did train: the loop is not vacuous.
    assert all((m.weight != 0).any() for n, m in model.named_modules() if n in pruned)


def test_without_enforce_adam_revives_pruned_weights(make_model: Make) -> None:
    """The control for the test above: momentum does move weights whose masks say zero."""
    model, inputs = make_model("mlp")
    pruner = build_pruner(PruneSpec(), model, example_inputs=inputs, classifier="classifier")
    pruner.prune_to(0.75)
    before = pruner.actual()
    _finetune(model, inputs, 5, lambda: None)
    assert pruner.actual() < before - 0.5
    pruner.enforce()
    assert pruner.actual() == pytest.approx(before)
