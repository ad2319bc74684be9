from __future__ import annotations

import pytest
import torch
from torch import nn

from compression.errors import ImpossibleTargetError
from compression.pruning import magnitude_masks
from compression.pruning.unstructured import Criterion

pytestmark = pytest.mark.unit


def _layers(seed: int = 0) -> dict[str, nn.Module]:
    torch.manual_seed(seed)
    return {"a": nn.Linear(10, 7), "b": nn.Conv2d(3, 5, 3), "c": nn.Conv1d(2, 3, 4)}


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.33, 0.5, 0.9])
@pytest.mark.parametrize("criterion", ["l1", "l2"])
def test_layer_scope_zeroes_exactly_round_s_n_smallest_per_layer(
    sparsity: float, criterion: Criterion
) -> None:
    layers = _layers()
    masks = magnitude_masks(layers, sparsity, scope="layer", criterion=criterion)
    for name, layer in layers.items():
        weight, mask = layer.weight.detach(), masks[name]
        assert mask.dtype == torch.bool and mask.shape == weight.shape
        assert int((~mask).sum()) == round(sparsity * weight.numel())
        if sparsity > 0:
            assert weight[~mask].abs().max() <= weight[mask].abs().min()


@pytest.mark.parametrize("sparsity", [0.25, 0.6, 0.8])
def test_global_scope_counts_over_all_layers_together(sparsity: float) -> None:
    layers = _layers()
    masks = magnitude_masks(layers, sparsity, scope="global", criterion="l1")
    total = sum(layer.weight.numel() for layer in layers.values())
    assert sum(int((~m).sum()) for m in masks.values()) == round(sparsity * total)
    pruned, kept = [], []
    for name, mask in masks.items():
        mags = layers[name].weight.detach().abs().flatten(1)
        row_max = torch.zeros_like(mags, dtype=torch.bool)
        row_max[torch.arange(len(mags)), mags.argmax(1)] = True  # always kept in global scope
        pruned.append(mags[~mask.flatten(1)])
        kept.append(mags[mask.flatten(1) & ~row_max])
    assert torch.cat(pruned).max() <= torch.cat(kept).min()


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


def test_global_scope_keeps_the_largest_weight_of_every_row() -> None:
    layers = _layers()
    with torch.no_grad():
        layers["c"].weight.mul_(1e-6)  # 24 tiny weights in 3 rows; 15% of 229 is 34
    masks = magnitude_masks(layers, 0.15, scope="global", criterion="l1")
    assert sum(int((~m).sum()) for m in masks.values()) == 34  # still exact
    kept = masks["c"].flatten(1)
    assert kept.sum(1).tolist() == [1, 1, 1]
    row_max = layers["c"].weight.detach().abs().flatten(1).argmax(1)
    assert kept[torch.arange(3), row_max].all()


def test_global_scope_rejects_a_target_that_would_empty_a_row() -> None:
    # 229 weights in 15 rows: at most 214 can go; 95% is 218.
    magnitude_masks(_layers(), 0.93, scope="global", criterion="l1")
    with pytest.raises(ImpossibleTargetError, match="214 of 229"):
        magnitude_masks(_layers(), 0.95, scope="global", criterion="l1")


@pytest.mark.parametrize("sparsity", [-0.1, 1.0, 1.5])
def test_out_of_range_sparsity_is_rejected(sparsity: float) -> None:
    with pytest.raises(ImpossibleTargetError):
        magnitude_masks(_layers(), sparsity, scope="layer", criterion="l1")


def test_layer_scope_refuses_to_empty_a_tiny_layer() -> None:
    with pytest.raises(ImpossibleTargetError):
        magnitude_masks({"t": nn.Linear(2, 2)}, 0.9, scope="layer", criterion="l1")  # round(3.6)=4
