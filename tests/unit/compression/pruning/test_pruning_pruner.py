from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from compression.errors import ImpossibleTargetError, UnsupportedRecipeError
from compression.pruning import ChannelPruner, build_pruner
from compression.pruning.pruner import UnstructuredPruner
from compression.pruning.unstructured import Scope
from compression.spec import PruneSpec

pytestmark = pytest.mark.unit

Make = Callable[..., tuple[nn.Module, torch.Tensor]]


def _linear_zeros(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: (m.weight == 0).clone() for n, m in model.named_modules()
            if isinstance(m, nn.Linear)}


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_unstructured_reaches_rising_targets_and_keeps_what_it_pruned(
    make_model: Make, scope: Scope
) -> None:
    model, inputs = make_model("mlp")
    pruner = build_pruner(PruneSpec(granularity="unstructured", scope=scope), model,
                          example_inputs=inputs, classifier="classifier")
    previous = _linear_zeros(model)
    for target in (0.5, 0.7, 0.9, 0.95):
        assert pruner.prune_to(target) is False  # masks only: the optimizer stays valid
        assert abs(pruner.actual() - target) <= 0.001
        now = _linear_zeros(model)
        assert all((now[n] | ~previous[n]).all() for n in now)  # old zeros are still zero
        previous = now
    # Under layer scope the classifier is pruned too (as for LeNet-300-100 in Han et al.);
    # under global scope it stays dense unless asked for (one ranking can empty it).
    assert previous["classifier"].any() == (scope == "layer")


def test_unstructured_never_unprunes(make_model: Make) -> None:
    model, inputs = make_model("mlp")
    pruner = build_pruner(PruneSpec(), model, example_inputs=inputs, classifier="classifier")
    pruner.prune_to(0.6)
    assert pruner.prune_to(0.3) is False
    assert pruner.actual() == pytest.approx(0.6, abs=0.001)


def test_unstructured_keeps_old_masks_when_live_weights_are_exactly_zero() -> None:
    layer = nn.Linear(10, 10)
    pruner = UnstructuredPruner({"l": layer}, scope="layer", criterion="l1")
    pruner.prune_to(0.3)
    old = ~pruner.masks.mask("l")
    with torch.no_grad():  # 40 live weights become exact zeros, tying with the 30 pruned
        live = (~old).flatten().nonzero().flatten()[:40]
        layer.weight.view(-1)[live] = 0.0
    pruner.prune_to(0.5)
    assert (~pruner.masks.mask("l"))[old].all()
    assert int((~pruner.masks.mask("l")).sum()) == 50


def test_unstructured_exclude_keeps_the_classifier_dense(make_model: Make) -> None:
    model, inputs = make_model("mlp")
    spec = PruneSpec(scope="global", exclude=["classifier"])
    pruner = build_pruner(spec, model, example_inputs=inputs, classifier="classifier")
    pruner.prune_to(0.8)
    assert not _linear_zeros(model)["classifier"].any()
    assert abs(pruner.actual() - 0.8) <= 0.001


def test_nm_applies_n_of_m_and_reports_skipped_layers() -> None:
    model = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))  # 6 % 4 != 0
    pruner = build_pruner(PruneSpec(granularity="nm", n=1, m=4), model,
                          example_inputs=torch.randn(2, 8), classifier="2")
    assert pruner.skipped == ["2"]
    assert pruner.prune_to(0.0) is False and pruner.actual() == 0.0
    assert pruner.prune_to(0.75) is False
    assert (model[0].weight.view(6, 2, 4) != 0).sum(-1).eq(1).all()
    assert (model[2].weight != 0).all()
    # Zero fraction over every managed weight, the skipped dense layer included.
    assert pruner.actual() == pytest.approx(36 / (48 + 18))


def test_channel_pruner_resizes_parameters(make_model: Make) -> None:
    model, inputs = make_model("cnn2d")
    spec = PruneSpec(granularity="channel", criterion="l2")
    pruner = build_pruner(spec, model, example_inputs=inputs, classifier="classifier")
    assert isinstance(pruner, ChannelPruner) and pruner.skipped == []
    before = [p.data_ptr() for p in model.parameters()]
    assert pruner.prune_to(0.5) is True
    assert [p.data_ptr() for p in model.parameters()] != before
    assert pruner.actual() == 0.5
    assert pruner.prune_to(0.5) is False
    assert model(inputs).shape == (6, 10)


def test_grid_axes_and_bad_inputs_are_typed_errors(make_model: Make) -> None:
    model, inputs = make_model("mlp")
    with pytest.raises(UnsupportedRecipeError, match="scope"):
        build_pruner(PruneSpec(scope=["layer", "global"]), model, example_inputs=inputs,
                     classifier="classifier")
    with pytest.raises(UnsupportedRecipeError, match="n < m"):
        build_pruner(PruneSpec(granularity="nm", n=4, m=4), model, example_inputs=inputs,
                     classifier="classifier")
    with pytest.raises(ImpossibleTargetError, match="no prunable"):
        build_pruner(PruneSpec(exclude=["*"]), model, example_inputs=inputs,
                     classifier="classifier")
    with pytest.raises(ImpossibleTargetError, match="output channels"):
        build_pruner(PruneSpec(granularity="channel", exclude=["fc*"]), model,
                     example_inputs=inputs, classifier="classifier")
    with pytest.raises(UnsupportedRecipeError, match="classifier"):
        build_pruner(PruneSpec(granularity="channel"), model, example_inputs=inputs,
                     classifier="head")
