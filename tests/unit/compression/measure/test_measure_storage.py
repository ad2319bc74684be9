"""Weight files: exact round trips, a real sparse criterion, corrupt files, pruned shapes."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from compression.errors import ArtifactFormatError
from compression.measure.storage import (
    dense_fp32_bytes,
    load_into,
    load_metadata,
    load_state,
    save_state,
)

pytestmark = pytest.mark.unit


def _bits(t: torch.Tensor) -> bytes:
    return bytes(t.detach().contiguous().reshape(-1).view(torch.uint8).tolist())


def _stored_names(path: Path) -> set[str]:
    with safe_open(str(path), framework="pt") as handle:
        return set(handle.keys())


def _with_zeros(shape: tuple[int, ...], fraction: float, dtype: torch.dtype) -> torch.Tensor:
    t = torch.randn(shape).to(dtype)
    flat = t.view(-1)
    flat[torch.randperm(flat.numel())[: int(fraction * flat.numel())]] = 0
    return t


def test_round_trip_is_bitwise_exact(tmp_path: Path) -> None:
    torch.manual_seed(0)
    special = _with_zeros((37, 11), 0.9, torch.float32)
    special.view(-1)[:4] = torch.tensor([-0.0, float("nan"), float("inf"), -1e-45])
    state = {
        "dense.weight": torch.randn(7, 13),
        "sparse.weight": special,
        "half": _with_zeros((5, 16, 3, 3), 0.8, torch.float16),
        "bf16": _with_zeros((101,), 0.95, torch.bfloat16),
        "f64": _with_zeros((9, 9), 0.9, torch.float64),
        "bn.num_batches_tracked": torch.tensor(7),
        "mask": torch.rand(3, 5) > 0.5,
        "bytes": torch.arange(10, dtype=torch.uint8),
        "empty": torch.zeros(0, 5),
        "scalar": torch.tensor(0.0),
        "transposed": torch.randn(4, 6).t(),  # not contiguous
    }
    path = tmp_path / "w.safetensors"
    size = save_state(state, path)
    assert size == path.stat().st_size
    loaded = load_state(path)
    assert set(loaded) == set(state)
    for name, tensor in state.items():
        got = loaded[name]
        assert got.dtype == tensor.dtype and got.shape == tensor.shape, name
        assert _bits(got) == _bits(tensor), name
    # The sparse ones were really encoded, the dense and non-float ones were not.
    stored = _stored_names(path)
    for name in ("sparse.weight", "half", "bf16", "f64"):
        assert {f"{name}:mask", f"{name}:values"} <= stored
    for name in ("dense.weight", "bn.num_batches_tracked", "mask", "empty", "scalar"):
        assert name in stored


@pytest.mark.parametrize(
    ("zeros", "sparse"),
    [(0.0, False), (0.5, True), (0.02, False), (0.9, True)],
)
def test_sparse_encoding_only_when_smaller(tmp_path: Path, zeros: float, sparse: bool) -> None:
    # fp32, n = 4096: bitmask costs n/8 + 4·kept bytes, so it wins from about 3% zeros on.
    path = tmp_path / "t.safetensors"
    save_state({"w": _with_zeros((64, 64), zeros, torch.float32)}, path)
    assert ("w:mask" in _stored_names(path)) is sparse


def test_tiny_tensors_stay_dense(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    save_state({"b": torch.tensor([0.0, 0.0, 1.0, 0.0])}, path)
    assert _stored_names(path) == {"b"}


def test_ninety_percent_sparse_mlp_is_at_most_a_quarter(
    tmp_path: Path, mlp: nn.Module, sparse_mlp: nn.Module
) -> None:
    dense_bytes = dense_fp32_bytes(mlp)
    assert dense_bytes == 4 * (64 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10)
    dense_file = save_state(mlp.state_dict(), tmp_path / "dense.safetensors")
    sparse_file = save_state(sparse_mlp.state_dict(), tmp_path / "sparse.safetensors")
    assert dense_file >= dense_bytes  # nothing to gain: stored densely
    assert sparse_file <= 0.25 * dense_bytes
    loaded = load_state(tmp_path / "sparse.safetensors")
    for name, tensor in sparse_mlp.state_dict().items():
        assert torch.equal(loaded[name], tensor)


def test_metadata_round_trip_and_reserved_keys(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_state({"w": torch.ones(2)}, path, metadata={"run": "abc", "task": "digits-mlp"})
    assert load_metadata(path) == {"run": "abc", "task": "digits-mlp"}
    with pytest.raises(ValueError, match="reserved"):
        save_state({"w": torch.ones(2)}, path, metadata={"squeezelab.format": "x"})


def test_garbage_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(ArtifactFormatError):
        load_state(path)


def test_truncated_file_is_rejected(tmp_path: Path, sparse_mlp: nn.Module) -> None:
    path = tmp_path / "w.safetensors"
    save_state(sparse_mlp.state_dict(), path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ArtifactFormatError):
        load_state(path)


def test_foreign_safetensors_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "foreign.safetensors"
    save_file({"w": torch.ones(3)}, str(path), metadata={"format": "pt"})
    with pytest.raises(ArtifactFormatError, match="not written by squeezelab"):
        load_state(path)


def _forge(path: Path, shape: object, mask: torch.Tensor, values: torch.Tensor) -> None:
    meta = {"squeezelab.format": "safetensors-bitmask/1", "squeezelab.sparse": json.dumps(
        {"w": shape})}
    save_file({"w:mask": mask, "w:values": values}, str(path), metadata=meta)


@pytest.mark.parametrize(
    ("shape", "mask", "values"),
    [
        ([4, 4], torch.tensor([255, 0], dtype=torch.uint8), torch.ones(3)),  # 8 bits, 3 values
        ([4, 4], torch.tensor([255], dtype=torch.uint8), torch.ones(8)),  # mask too short
        ([10**9], torch.tensor([1], dtype=torch.uint8), torch.ones(1)),  # inflated shape
        ("4x4", torch.tensor([1, 0], dtype=torch.uint8), torch.ones(1)),  # not a shape
    ],
)
def test_inconsistent_sparse_encoding_is_rejected(
    tmp_path: Path, shape: object, mask: torch.Tensor, values: torch.Tensor
) -> None:
    path = tmp_path / "forged.safetensors"
    _forge(path, shape, mask, values)
    with pytest.raises(ArtifactFormatError):
        load_state(path)


def test_load_into_restores_a_channel_pruned_model(
    tmp_path: Path,
    convnet: nn.Module,
    new_convnet: Callable[[], nn.Module],
    shrink: Callable[[nn.Module, Sequence[int], Sequence[int]], nn.Module],
) -> None:
    small = shrink(convnet, [0, 2, 5, 7], [1, 3, 4, 8, 9, 15]).eval()
    path = tmp_path / "small.safetensors"
    save_state(small.state_dict(), path)
    fresh = new_convnet().eval()
    load_into(fresh, load_state(path))
    x = torch.randn(5, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(fresh(x), small(x))
    sizes = {
        f"{layer}.{attr}": getattr(fresh.get_submodule(layer), attr)
        for layer, attr in [
            ("conv1", "out_channels"), ("conv2", "in_channels"), ("conv2", "out_channels"),
            ("bn1", "num_features"), ("bn2", "num_features"), ("fc", "in_features"),
            ("fc", "out_features"), ("bn1", "num_batches_tracked"),
        ]
    }
    assert sizes == {
        "conv1.out_channels": 4, "conv2.in_channels": 4, "conv2.out_channels": 6,
        "bn1.num_features": 4, "bn2.num_features": 6, "fc.in_features": 24,
        "fc.out_features": 10, "bn1.num_batches_tracked": 3,
    }
    assert sum(p.numel() for p in fresh.parameters()) == sum(
        p.numel() for p in small.parameters()
    )


def test_load_into_a_depthwise_conv() -> None:
    dense = nn.Sequential(nn.Conv1d(4, 8, 3, groups=4), nn.BatchNorm1d(8))
    small = nn.Sequential(nn.Conv1d(3, 6, 3, groups=3), nn.BatchNorm1d(6)).eval()
    load_into(dense, small.state_dict())
    conv = dense[0]
    assert isinstance(conv, nn.Conv1d)
    assert (conv.in_channels, conv.out_channels, conv.groups) == (3, 6, 3)
    x = torch.randn(2, 3, 10)
    with torch.no_grad():
        assert torch.equal(dense.eval()(x), small(x))


def test_load_into_rejects_weights_of_another_model(convnet: nn.Module) -> None:
    with pytest.raises(ArtifactFormatError):
        load_into(convnet, {"fc.weight": torch.zeros(10, 64)})
    wrong_kernel = {**convnet.state_dict(), "conv1.weight": torch.zeros(8, 1, 5, 5)}
    with pytest.raises(ArtifactFormatError):
        load_into(convnet, wrong_kernel)


def test_dense_fp32_bytes_counts_params_and_float_buffers() -> None:
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).to(torch.float16)
    # Linear 3·2 + 2, BatchNorm weight, bias, running mean, var 4·2; not num_batches_tracked.
    assert dense_fp32_bytes(model) == 4 * (8 + 8)
    assert math.isclose(dense_fp32_bytes(nn.Identity()), 0)


@pytest.mark.parametrize("family", ["convnext", "mobilenet_v2"])
def test_channel_pruned_transformers_models_load_back(family: str) -> None:
    """A checkpoint of a channel-pruned model (LayerNorm, layer scales, depthwise convs)
    loads into a freshly built dense one and computes the same (a resumed attempt)."""
    import transformers

    from compression.pruning import ChannelPruner
    from compression.pruning.targets import output_layer

    def build() -> torch.nn.Module:
        if family == "convnext":
            return transformers.ConvNextForImageClassification(transformers.ConvNextConfig(
                num_channels=3, num_stages=2, hidden_sizes=[8, 16], depths=[1, 1],
                patch_size=2, num_labels=4))
        return transformers.MobileNetV2ForImageClassification(transformers.MobileNetV2Config(
            num_channels=3, image_size=32, depth_multiplier=0.35, num_labels=4))

    x = torch.randn(2, 3, 32, 32)
    torch.manual_seed(0)
    pruned = build().eval()
    ChannelPruner(pruned, example_inputs=x, classifier=output_layer(pruned, x)).prune_to(0.5)
    fresh = build()
    load_into(fresh, pruned.state_dict())
    fresh.eval()
    assert torch.allclose(fresh(x).logits, pruned(x).logits, atol=1e-5)
    assert sum(p.numel() for p in fresh.parameters()) < sum(p.numel() for p in build().parameters())
