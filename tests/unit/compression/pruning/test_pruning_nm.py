from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from compression.errors import UnsupportedRecipeError
from compression.pruning import nm_masks

pytestmark = pytest.mark.unit


def _groups_along_input(tensor: torch.Tensor, m: int) -> torch.Tensor:
    """(groups, m) view with each row m consecutive input-dim entries at one kernel position."""
    order = [0, *range(2, tensor.dim()), 1]
    return tensor.permute(order).reshape(-1, m)


@pytest.mark.parametrize(("n", "m"), [(1, 4), (2, 4), (3, 4), (3, 8), (1, 2)])
@pytest.mark.parametrize(
    "layer_fn",
    [lambda: nn.Linear(16, 6), lambda: nn.Conv1d(8, 5, 3), lambda: nn.Conv2d(16, 4, (3, 2))],
    ids=["linear", "conv1d", "conv2d"],
)
def test_keeps_n_largest_of_every_m_input_weights(
    n: int, m: int, layer_fn: Callable[[], nn.Module]
) -> None:
    torch.manual_seed(n * 10 + m)
    layer = layer_fn()
    masks, skipped = nm_masks({"l": layer}, n, m)
    assert skipped == []
    mask = masks["l"]
    assert mask.shape == layer.weight.shape and mask.dtype == torch.bool
    keep = _groups_along_input(mask, m)
    mags = _groups_along_input(layer.weight.detach().abs(), m)
    assert (keep.sum(1) == n).all()
    kept_min = mags.masked_fill(~keep, float("inf")).min(1).values
    pruned_max = mags.masked_fill(keep, -1.0).max(1).values
    assert (pruned_max <= kept_min).all()


def test_conv_groups_run_along_input_channels_not_kernel_positions() -> None:
    conv = nn.Conv2d(4, 1, (1, 4), bias=False)
    with torch.no_grad():
        # Along the kernel row the magnitudes rise; along input channels input 3 is largest at
        # every position, input 2 second. Grouping along the kernel would keep columns 2 and 3.
        conv.weight.copy_(torch.tensor([[[[1.0, 2.0, 3.0, 4.0]],
                                         [[1.1, 2.1, 3.1, 4.1]],
                                         [[1.2, 2.2, 3.2, 4.2]],
                                         [[1.3, 2.3, 3.3, 4.3]]]]))
    mask = nm_masks({"c": conv}, 2, 4)[0]["c"]
    assert mask[0, :, 0, :].tolist() == [[False] * 4, [False] * 4, [True] * 4, [True] * 4]


def test_layers_with_indivisible_input_dim_are_skipped() -> None:
    layers = {"ok": nn.Linear(8, 3), "odd": nn.Linear(10, 3), "conv": nn.Conv2d(3, 4, 3)}
    masks, skipped = nm_masks(layers, 2, 4)
    assert list(masks) == ["ok"]
    assert skipped == ["odd", "conv"]


@pytest.mark.parametrize(("n", "m"), [(4, 4), (0, 4), (5, 4)])
def test_n_must_be_between_zero_and_m(n: int, m: int) -> None:
    with pytest.raises(UnsupportedRecipeError):
        nm_masks({"l": nn.Linear(8, 2)}, n, m)
