"""ONNX export: onnxruntime agrees with torch at several batch sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from compression.errors import UnsupportedRecipeError
from compression.measure import onnx_export
from compression.measure.onnx_export import export_onnx

pytestmark = pytest.mark.unit


def _conv1d_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv1d(1, 8, 5), nn.BatchNorm1d(8), nn.ReLU(), nn.MaxPool1d(2), nn.Flatten(),
        nn.Linear(8 * 18, 10),
    )


def _assert_matches_torch(model: nn.Module, path: Path, sample_shape: tuple[int, ...]) -> None:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input"]
    assert [o.name for o in session.get_outputs()] == ["logits"]
    assert not isinstance(session.get_inputs()[0].shape[0], int)  # dynamic batch
    model.eval()
    for batch in (1, 64):
        x = torch.randn(batch, *sample_shape)
        (got,) = session.run(["logits"], {"input": x.numpy()})
        with torch.no_grad():
            expected = model(x).numpy()
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kind", ["mlp", "conv2d", "conv1d"])
def test_onnxruntime_matches_torch(
    tmp_path: Path, kind: str, sparse_mlp: nn.Module, convnet: nn.Module
) -> None:
    model, shape = {
        "mlp": (sparse_mlp, (1, 8, 8)),
        "conv2d": (convnet, (1, 8, 8)),
        "conv1d": (_conv1d_net(), (1, 40)),
    }[kind]
    model.train()
    path = export_onnx(model, torch.randn(1, *shape), tmp_path / "m.onnx")
    assert path == tmp_path / "m.onnx" and path.stat().st_size > 0
    assert model.training  # the caller's mode is restored
    _assert_matches_torch(model, path, shape)


@pytest.mark.slow  # the dynamo exporter's first call takes several seconds
@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.export internals
def test_dynamo_exporter_is_the_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("tracer cannot handle this model")

    monkeypatch.setattr(onnx_export, "_export_torchscript", broken)
    model = nn.Sequential(nn.Linear(6, 3), nn.ReLU(), nn.Linear(3, 2))
    path = export_onnx(model, torch.randn(1, 6), tmp_path / "m.onnx")
    _assert_matches_torch(model, path, (6,))


def test_unexportable_model_raises_a_typed_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlp: nn.Module
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("\x1b[96mno\x1b[0m luck\nlong graph dump")

    monkeypatch.setattr(onnx_export, "_export_torchscript", broken)
    monkeypatch.setattr(onnx_export, "_export_dynamo", broken)
    with pytest.raises(UnsupportedRecipeError, match="cannot be exported") as info:
        export_onnx(mlp, torch.randn(2, 1, 8, 8), tmp_path / "m.onnx")
    assert "graph dump" not in str(info.value) and "\x1b" not in str(info.value)
