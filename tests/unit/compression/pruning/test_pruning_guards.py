"""Guards of global pruning: per-layer caps, and a classifier left dense by default."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from compression.errors import ImpossibleTargetError
from compression.pruning import build_pruner
from compression.pruning.unstructured import masks_from_scores
from compression.spec import PruneSpec

pytestmark = pytest.mark.unit


def test_max_layer_sparsity_caps_each_layer_and_moves_the_rest_elsewhere() -> None:
    torch.manual_seed(0)
    scores = {"small": torch.rand(10, 100) * 0.01, "big": torch.rand(10, 100)}
    uncapped = masks_from_scores(scores, 0.5, scope="global")
    assert float((~uncapped["small"]).float().mean()) > 0.95  # one ranking empties it
    capped = masks_from_scores(scores, 0.5, scope="global", max_layer_sparsity=0.6)
    pruned = {name: int((~m).sum()) for name, m in capped.items()}
    assert pruned["small"] == 600 and pruned["big"] == 400
    assert sum(pruned.values()) == 1000  # the global target is still met exactly


def test_caps_that_cannot_meet_the_target_say_so() -> None:
    scores = {"a": torch.rand(4, 10), "b": torch.rand(4, 10)}
    with pytest.raises(ImpossibleTargetError, match="max_layer_sparsity"):
        masks_from_scores(scores, 0.8, scope="global", max_layer_sparsity=0.5)


def mobilenet() -> torch.nn.Module:
    transformers = pytest.importorskip("transformers")
    config = transformers.MobileNetV2Config(num_channels=3, image_size=32,
                                            depth_multiplier=0.35, num_labels=10)
    torch.manual_seed(0)
    model = transformers.MobileNetV2ForImageClassification(config).eval()
    # torchvision's initialisation, whose classifier weights are far smaller than the convs'.
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, mode="fan_out")
        elif isinstance(module, torch.nn.Linear):
            torch.nn.init.normal_(module.weight, 0, 0.01)
    return model


def test_global_agp_on_mobilenet_v2_keeps_its_classifier_dense() -> None:
    """torchvision and transformers initialise MobileNetV2's classifier with std 0.01: one
    global ranking of magnitudes took 99.9% of it at 0.8 (accuracy fell to 8%)."""
    model = mobilenet()
    example = torch.randn(2, 3, 32, 32)
    pruner = build_pruner(PruneSpec(granularity="unstructured", scope="global"), model,
                          example_inputs=example, classifier="classifier")
    pruner.prune_to(0.8)
    assert int((model.classifier.weight == 0).sum()) == 0
    assert pruner.actual() == pytest.approx(0.8, abs=1e-3)
    # Asked for, the classifier is ranked with the rest, and nearly emptied.
    model = mobilenet()
    pruner = build_pruner(PruneSpec(granularity="unstructured", scope="global",
                                    prune_classifier=True), model,
                          example_inputs=example, classifier="classifier")
    pruner.prune_to(0.8)
    assert float((model.classifier.weight == 0).float().mean()) > 0.99


def test_max_layer_sparsity_caps_global_channel_pruning(make_model: Any) -> None:
    model, inputs = make_model("cnn2d")
    pruner = build_pruner(PruneSpec(granularity="channel", scope="global",
                                    max_layer_sparsity=0.6), model,
                          example_inputs=inputs, classifier="classifier")
    pruner.prune_to(0.5)
    widths = {name: m.weight.shape[0] for name, m in model.named_modules()
              if isinstance(m, torch.nn.Conv2d | torch.nn.Linear) and name != "classifier"}
    fresh, _ = make_model("cnn2d")
    for name, width in widths.items():
        original = dict(fresh.named_modules())[name].weight.shape[0]
        assert width >= original - int(0.6 * original), name
