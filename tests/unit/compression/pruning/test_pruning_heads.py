"""Head-aware channel pruning of transformers (tiny BERT and ViT from config classes, random
init): whole heads go, every layer keeps the same shape, the config says so, and the saved
model reloads with ``from_pretrained`` to the same outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from compression.errors import ImpossibleTargetError, InvalidResultError, UnsupportedRecipeError
from compression.measure import load_into, save_state
from compression.modelconfig import CONFIG_FILE, save_config
from compression.pruning import ChannelPruner
from compression.verify import attention_widths, verify_heads

transformers = pytest.importorskip("transformers")
pytestmark = pytest.mark.unit

Model = Any  # a transformers PreTrainedModel
Inputs = dict[str, torch.Tensor]


def _randomize(model: nn.Module) -> None:
    """Random biases and LayerNorm parameters too: no exact zeros, so that a wrong channel
    mapping shows in the outputs and the weights file stores every tensor plainly."""
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.05 * torch.randn_like(param))


def bert(heads: int = 4, hidden: int = 64, seed: int = 0) -> tuple[Model, Inputs]:
    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=50, hidden_size=hidden, num_hidden_layers=2, num_attention_heads=heads,
        intermediate_size=2 * hidden, max_position_embeddings=16, num_labels=3)
    model = transformers.BertForSequenceClassification(config).eval()
    _randomize(model)
    ids = torch.randint(0, 50, (3, 10))
    mask = torch.ones_like(ids)
    mask[0, 7:] = 0
    return model, {"input_ids": ids, "attention_mask": mask}


def vit(heads: int = 4, hidden: int = 64, seed: int = 0) -> tuple[Model, Inputs]:
    torch.manual_seed(seed)
    config = transformers.ViTConfig(
        image_size=16, patch_size=4, num_channels=3, hidden_size=hidden,
        num_hidden_layers=2, num_attention_heads=heads, intermediate_size=2 * hidden,
        num_labels=5)
    model = transformers.ViTForImageClassification(config).eval()
    _randomize(model)
    return model, {"pixel_values": torch.randn(3, 3, 16, 16)}


MODELS = {"bert": bert, "vit": vit}
ATTENTION = {"bert": "bert.encoder.layer.{}.attention.self",
             "vit": "vit.layers.{}.attention"}
PROJECTIONS = {"bert": ("query", "key", "value"), "vit": ("q_proj", "k_proj", "v_proj")}


def _attention(model: Model, kind: str, layer: int) -> nn.Module:
    module: nn.Module = dict(model.named_modules())[ATTENTION[kind].format(layer)]
    return module


def _head_size(module: nn.Module) -> int:
    return int(getattr(module, "attention_head_size", getattr(module, "head_dim", 0)))


def _logits(model: Model, inputs: Inputs) -> torch.Tensor:
    with torch.no_grad():
        logits: torch.Tensor = model(**inputs).logits
    return logits


def _save(model: Model, out: Path) -> Path | None:
    weights = out / "model.safetensors"
    save_state(model.state_dict(), weights)
    return save_config(model, out, weights=weights)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_half_removes_two_of_four_heads_and_reloads_with_from_pretrained(
        kind: str, tmp_path: Path) -> None:
    model, inputs = MODELS[kind]()
    pruner = ChannelPruner(model, example_inputs=inputs, classifier="classifier")
    assert pruner.prune_to(0.5) is True
    for layer in range(2):
        attention = _attention(model, kind, layer)
        assert attention.num_attention_heads == 2 and _head_size(attention) == 16
        for name in PROJECTIONS[kind]:
            assert getattr(attention, name).weight.shape == (32, 32)
    assert model.config.hidden_size == 32
    assert model.config.num_attention_heads == 2
    assert model.config.intermediate_size == 64
    assert pruner.actual() == pytest.approx(0.5)
    pruned = _logits(model, inputs)
    assert pruned.shape[0] == 3

    assert _save(model, tmp_path) == tmp_path / CONFIG_FILE
    reloaded = type(model).from_pretrained(tmp_path).eval()
    torch.testing.assert_close(_logits(reloaded, inputs), pruned, rtol=0, atol=1e-6)


def test_the_weakest_heads_go_whole() -> None:
    model, inputs = bert()
    attention = _attention(model, "bert", 0)
    with torch.no_grad():  # heads 1 and 3 of layer 0 barely contribute
        for name in PROJECTIONS["bert"]:
            getattr(attention, name).weight.view(4, 16, -1)[[1, 3]] *= 0.01
    kept_bias = attention.query.bias.view(4, 16)[[0, 2]].flatten().clone()
    ChannelPruner(model, example_inputs=inputs, classifier="classifier").prune_to(0.5)
    # Residual pruning narrows the weights' inputs; the biases are the heads' own rows.
    assert torch.equal(attention.query.bias, kept_bias)


def test_quarter_keeps_three_heads_then_rises_to_half() -> None:
    model, inputs = vit()
    pruner = ChannelPruner(model, example_inputs=inputs, classifier="classifier")
    pruner.prune_to(0.25)
    assert (model.config.num_attention_heads, model.config.hidden_size,
            model.config.intermediate_size) == (3, 48, 96)
    assert _attention(model, "vit", 1).q_proj.weight.shape == (48, 48)
    assert pruner.prune_to(0.5) is True
    assert (model.config.num_attention_heads, model.config.hidden_size) == (2, 32)
    assert pruner.prune_to(0.5) is False
    _logits(model, inputs)


def test_heads_round_to_whole_heads_and_the_fraction_is_reported() -> None:
    model, inputs = bert(heads=3, hidden=48)
    pruner = ChannelPruner(model, example_inputs=inputs, classifier="classifier")
    pruner.prune_to(0.5)  # round(1.5) = 2 heads go, and the residual width with them
    assert (model.config.num_attention_heads, model.config.hidden_size) == (1, 16)
    assert model.config.intermediate_size == 48
    assert 0.5 < pruner.actual() < 0.6
    _logits(model, inputs)


def test_a_target_that_removes_every_head_is_impossible() -> None:
    model, inputs = bert(heads=2, hidden=32)
    pruner = ChannelPruner(model, example_inputs=inputs, classifier="classifier")
    with pytest.raises(ImpossibleTargetError, match="all 2 heads"):
        pruner.prune_to(0.75)


def test_global_scope_is_refused_on_attention_models() -> None:
    model, inputs = bert()
    with pytest.raises(UnsupportedRecipeError, match="scope 'layer'"):
        ChannelPruner(model, example_inputs=inputs, classifier="classifier", scope="global")


def test_excluded_attention_keeps_heads_and_width_and_prunes_the_mlp(tmp_path: Path) -> None:
    model, inputs = bert()
    pruner = ChannelPruner(model, example_inputs=inputs, classifier="classifier",
                           exclude=["*.attention.*"])
    pruner.prune_to(0.5)
    assert (model.config.num_attention_heads, model.config.hidden_size,
            model.config.intermediate_size) == (4, 64, 64)
    assert model.bert.pooler.dense.weight.shape == (64, 64)  # as wide as the residual stream
    assert "bert.pooler.dense" in pruner.skipped
    assert _save(model, tmp_path) is not None
    reloaded = type(model).from_pretrained(tmp_path).eval()
    torch.testing.assert_close(_logits(reloaded, inputs), _logits(model, inputs),
                               rtol=0, atol=1e-6)


def test_excluding_some_attention_modules_only_is_refused() -> None:
    model, inputs = bert()
    with pytest.raises(UnsupportedRecipeError, match="same head count in every layer"):
        ChannelPruner(model, example_inputs=inputs, classifier="classifier",
                      exclude=["bert.encoder.layer.0.attention.*"])


def test_a_resumed_pruner_takes_the_loaded_heads_and_prunes_on() -> None:
    pruned, inputs = vit()
    ChannelPruner(pruned, example_inputs=inputs, classifier="classifier").prune_to(0.5)
    model, _ = vit()  # dense, as the runner builds it before loading a checkpoint
    pruner = ChannelPruner(model, example_inputs=inputs, classifier="classifier")
    load_into(model, pruned.state_dict())
    pruner.restore(0.5)
    assert (_attention(model, "vit", 0).num_attention_heads, model.config.hidden_size) == (2, 32)
    torch.testing.assert_close(_logits(model, inputs), _logits(pruned, inputs))
    pruner.prune_to(0.75)  # the position embeddings were replaced on loading
    assert (model.config.num_attention_heads, model.config.hidden_size) == (1, 16)
    _logits(model, inputs)


def test_verify_accepts_head_pruning_and_names_a_stale_head_count() -> None:
    model, inputs = bert()
    before = attention_widths(model)
    ChannelPruner(model, example_inputs=inputs, classifier="classifier").prune_to(0.5)
    verify_heads(model, before, "channel pruning to 0.5")
    attention = _attention(model, "bert", 1)
    attention.num_attention_heads = 4  # 2 heads of 16 no longer read as 4 heads
    with pytest.raises(InvalidResultError, match=r"bert\.encoder\.layer\.1\.attention\.self"):
        verify_heads(model, before, "channel pruning to 0.5")


def test_verify_names_a_config_that_no_longer_describes_the_model() -> None:
    model, inputs = vit()
    before = attention_widths(model)
    ChannelPruner(model, example_inputs=inputs, classifier="classifier").prune_to(0.5)
    model.config.intermediate_size = 128
    with pytest.raises(InvalidResultError, match=r"config no longer describes it.*fc1"):
        verify_heads(model, before, "channel pruning to 0.5")


def test_no_config_json_where_from_pretrained_would_not_give_the_model_back(
        tmp_path: Path) -> None:
    model, _ = bert()
    with torch.no_grad():  # sparse: stored with squeezelab's bitmask encoding
        model.bert.encoder.layer[0].intermediate.dense.weight[:, :32] = 0.0
    assert _save(model, tmp_path) is None
    assert not (tmp_path / CONFIG_FILE).exists()
    assert save_config(nn.Linear(2, 2), tmp_path, weights=tmp_path / "model.safetensors") is None
