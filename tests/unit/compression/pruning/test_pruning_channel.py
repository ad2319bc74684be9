from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from compression.errors import ImpossibleTargetError
from compression.pruning import ChannelPruner
from compression.pruning.unstructured import Scope

pytestmark = pytest.mark.unit

Make = Callable[..., tuple[nn.Module, torch.Tensor]]
ROOTS = {  # prunable layers and their original widths, per model
    "mlp": {"fc1": 32, "fc2": 24},
    "cnn2d": {"features.0": 8, "features.4": 16, "fc": 32},
    "cnn1d": {"conv1": 8, "conv2": 16},
}


def _widths(model: nn.Module, names: list[str]) -> dict[str, int]:
    modules = dict(model.named_modules())
    return {name: modules[name].weight.shape[0] for name in names}


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("kind", sorted(ROOTS))
def test_layer_scope_reaches_rising_targets_against_the_original(make_model: Make,
                                                                 kind: str) -> None:
    model, inputs = make_model(kind)
    classes = model(inputs).shape[1]
    pruner = ChannelPruner(model, example_inputs=inputs[:1], classifier="classifier")
    assert pruner.layers == list(ROOTS[kind])
    for target in (0.125, 0.25, 0.375, 0.5):
        assert pruner.prune_to(target) is True
        expected = {n: w - round(target * w) for n, w in ROOTS[kind].items()}
        assert _widths(model, list(expected)) == expected
        total = sum(ROOTS[kind].values())
        assert pruner.actual() == pytest.approx(1 - sum(expected.values()) / total)
        assert model(inputs).shape == (6, classes)  # the classifier's outputs never shrink
    assert pruner.prune_to(0.5) is False and pruner.prune_to(0.25) is False


@pytest.mark.parametrize("kind", sorted(ROOTS))
def test_global_scope_removes_round_target_of_all_channels(make_model: Make, kind: str) -> None:
    model, inputs = make_model(kind)
    pruner = ChannelPruner(model, example_inputs=inputs, classifier="classifier",
                           scope="global", criterion="l2")
    total = sum(ROOTS[kind].values())
    for target in (0.2, 0.45, 0.7):
        pruner.prune_to(target)
        remaining = sum(_widths(model, list(ROOTS[kind])).values())
        assert total - remaining == round(target * total)
        assert min(_widths(model, list(ROOTS[kind])).values()) >= 1
        model(inputs)


def _kill(layer: nn.Module, idxs: list[int], bn: nn.Module | None = None) -> None:
    """Make channels dead: zero filter and bias (and BN gamma/beta) so they output zero."""
    with torch.no_grad():
        layer.weight[idxs] = 0.0
        layer.bias[idxs] = 0.0
        if bn is not None:
            bn.weight[idxs] = 0.0
            bn.bias[idxs] = 0.0


DEAD = {  # a quarter of each prunable layer's channels, scattered
    "mlp": {"fc1": [0, 5, 6, 13, 20, 21, 30, 31], "fc2": [1, 2, 11, 12, 23, 17]},
    "cnn2d": {"features.0": [1, 5], "features.4": [0, 3, 7, 9], "fc": [2, 10, 17, 30, 31, 0, 5, 6]},
    "cnn1d": {"conv1": [7, 2], "conv2": [15, 4, 8, 9]},
}
BATCHNORM = {"features.0": "features.1", "features.4": "features.5"}


@pytest.mark.parametrize("scope", ["layer", "global"])
@pytest.mark.parametrize("kind", sorted(ROOTS))
def test_removing_zero_importance_channels_leaves_the_outputs_unchanged(
    make_model: Make, kind: str, scope: Scope
) -> None:
    model, inputs = make_model(kind)
    modules = dict(model.named_modules())
    for name, idxs in DEAD[kind].items():
        _kill(modules[name], idxs, modules[BATCHNORM[name]] if name in BATCHNORM else None)
    with torch.no_grad():
        before = model(inputs)
    params = _params(model)

    pruner = ChannelPruner(model, example_inputs=inputs, classifier="classifier",
                           scope=scope)
    assert pruner.prune_to(0.25) is True

    expected = {n: ROOTS[kind][n] - len(DEAD[kind][n]) for n in ROOTS[kind]}
    assert _widths(model, list(expected)) == expected
    for name in expected:  # exactly the dead channels went: no zero filter is left
        assert (modules[name].weight.flatten(1).abs().sum(1) > 0).all()
    with torch.no_grad():
        after = model(inputs)
    assert torch.allclose(before, after, atol=1e-5)
    assert _params(model) < params


def test_coupled_layers_shrink_together(make_model: Make) -> None:
    model, inputs = make_model("cnn2d")
    ChannelPruner(model, example_inputs=inputs, classifier="classifier").prune_to(0.5)
    f = model.features
    assert f[0].weight.shape == (4, 1, 3, 3) and f[1].num_features == 4
    assert f[4].weight.shape == (8, 4, 3, 3) and f[5].running_mean.shape == (8,)
    assert model.fc.weight.shape == (16, 8 * 2 * 2)  # behind the flatten: 4 inputs per channel
    assert model.classifier.weight.shape == (10, 16)


def test_excluded_layers_keep_their_outputs(make_model: Make) -> None:
    model, inputs = make_model("cnn2d")
    pruner = ChannelPruner(model, example_inputs=inputs, classifier="classifier",
                           exclude=["features.*"])
    assert pruner.layers == ["fc"] and pruner.skipped == []
    pruner.prune_to(0.5)
    assert model.features[0].weight.shape[0] == 8 and model.features[4].weight.shape[0] == 16
    assert model.fc.weight.shape == (16, 64) and model.classifier.weight.shape == (10, 16)
    assert pruner.actual() == 0.5


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_a_target_that_would_empty_a_layer_is_refused_untouched(make_model: Make,
                                                               scope: Scope) -> None:
    model, inputs = make_model("cnn1d")
    pruner = ChannelPruner(model, example_inputs=inputs, classifier="classifier",
                           scope=scope)
    params = _params(model)
    with pytest.raises(ImpossibleTargetError):
        pruner.prune_to(0.95)  # layer: round(7.6) = all 8 of conv1; global: 23 of 24
    assert _params(model) == params and pruner.actual() == 0.0


def test_tracing_leaves_train_mode_and_batchnorm_statistics_alone(make_model: Make) -> None:
    model, inputs = make_model("cnn2d")
    model.train()
    stats = model.features[1].running_mean.clone()
    ChannelPruner(model, example_inputs=inputs, classifier="classifier")
    assert model.training
    assert torch.equal(model.features[1].running_mean, stats)
