from __future__ import annotations

import pytest
import torch
from torch import nn

from compression.errors import ImpossibleTargetError
from compression.pruning import magnitude_masks

pytestmark = pytest.mark.unit


def _layers(seed: int = 0) -> dict[str, nn.Module]:
    torch.manual_seed(seed)
    return {"a": nn.Linear(10, 7), "b": nn.Conv2d(3, 5, 3), "c": nn.Conv1d(2, 3, 4)}


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.33, 0.5, 0.9])
@pytest.mark.parametrize("criterion", ["l1", "l2"])
def test_layer_scope_zeroes_exactly_round_s_n_smallest_per_layer(
    sparsity: float, criterion: str
) -> None:
    layers = _layers()
    masks = magnitude_masks(layers, sparsity, scope="layer", criterion=criterion)  # type: ignore[arg-type]
    for name, layer in layers.items():
        weight, mask = layer.weight.detach(), masks[name]
        assert mask.dtype == torch.bool and mask.shape == weight.shape
        assert int((~mask).sum()) == round(sparsity * weight.numel())
        if 0 < sparsity:
            assert weight[~mask].abs().max() <= weight[mask].abs().min()


@pytest.mark.parametrize("sparsity", [0.25, 0.6, 0.8])
def test_global_scope_counts_over_all_layers_together(sparsity: float) -> None:
    layers = _layers()
    masks = magnitude_masks(layers, sparsity, scope="global", criterion="l1")
    total = sum(layer.weight.numel() for layer in layers.values())
    assert sum(int((~m).sum()) for m in masks.values()) == round(sparsity * total)
    pruned = torch.cat([layers[n].weight.detach()[~m].abs() for n, m in masks.items()])
    kept = torch.cat([layers[n].weight.detach()[m].abs() for n, m in masks.items()])
    assert pruned.max() <= kept.min()


def test_global_scope_prunes_the_small_weights_layer_hardest() -> None:
    layers = _layers()
    with torch.no_grad():
        layers["a"].weight.mul_(0.01)
    masks = magnitude_masks(layers, 0.1, scope="global", criterion="l1")
    # Layer a holds 70 of 229 weights and all of the smallest: the 23 pruned all come from it.
    assert int((~masks["a"]).sum()) == 23
    assert masks["b"].all() and masks["c"].all()


def test_zeros_rank_lowest_and_biases_are_untouched() -> None:
    layer = nn.Linear(8, 4)
    with torch.no_grad():
        layer.weight.view(-1)[[3, 9, 17]] = 0.0
    bias = layer.bias.detach().clone()
    masks = magnitude_masks({"l": layer}, 3 / 32, scope="layer", criterion="l2")
    assert (~masks["l"]).view(-1).nonzero().flatten().tolist() == [3, 9, 17]
    assert torch.equal(layer.bias, bias)


def test_global_scope_refuses_to_empty_a_layer() -> None:
    layers = _layers()
    with torch.no_grad():
        layers["c"].weight.mul_(1e-6)  # 24 tiny weights: 15% of 229 (34) takes all of them
    magnitude_masks(layers, 0.1, scope="global", criterion="l1")  # 23 pruned: one of c is left
    with pytest.raises(ImpossibleTargetError, match="'c'"):
        magnitude_masks(layers, 0.15, scope="global", criterion="l1")


@pytest.mark.parametrize("sparsity", [-0.1, 1.0, 1.5])
def test_out_of_range_sparsity_is_rejected(sparsity: float) -> None:
    with pytest.raises(ImpossibleTargetError):
        magnitude_masks(_layers(), sparsity, scope="layer", criterion="l1")


def test_layer_scope_refuses_to_empty_a_tiny_layer() -> None:
    with pytest.raises(ImpossibleTargetError):
        magnitude_masks({"t": nn.Linear(2, 2)}, 0.9, scope="layer", criterion="l1")  # round(3.6)=4
