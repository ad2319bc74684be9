"""Int8 ONNX models: the Gemm rewrite, dynamic and static int8, zeros kept, size, round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from compression.errors import ArtifactFormatError, UnsupportedRecipeError
from compression.measure import dense_fp32_bytes, export_onnx
from compression.quantization import (
    Int8Settings,
    OnnxModel,
    calibration_batches,
    int8_weights,
    settings_for,
)
from compression.quantization.onnx_int8 import (
    linear_as_matmul,
    quantize_onnx_dynamic,
    quantize_onnx_static,
)
from compression.tasks.models import DigitsCNN, DigitsMLP

pytestmark = pytest.mark.unit


def _fp32(model: nn.Module, shape: tuple[int, ...], path: Path) -> Path:
    return export_onnx(model.eval(), torch.zeros(2, *shape), path)


def _prune_half(model: nn.Module) -> None:
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear | nn.Conv2d):
                weight = module.weight.view(-1)
                weight[weight.abs().argsort()[: weight.numel() // 2]] = 0.0


def test_gemm_rewritten_as_matmul_computes_the_same(tmp_path: Path) -> None:
    torch.manual_seed(0)
    path = _fp32(DigitsMLP(), (64,), tmp_path / "m.onnx")
    model = onnx.load(str(path))
    assert {n.op_type for n in model.graph.node} >= {"Gemm"}
    linear_as_matmul(model)
    assert "Gemm" not in {n.op_type for n in model.graph.node}
    onnx.save(model, str(tmp_path / "r.onnx"))
    x = torch.randn(5, 64)
    assert torch.allclose(OnnxModel(path)(x), OnnxModel(tmp_path / "r.onnx")(x),
                          atol=1e-5)


@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_int8_model_is_close_small_and_keeps_zeros(mode: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = DigitsMLP().eval()
    _prune_half(model)
    fp32 = _fp32(model, (64,), tmp_path / "fp32.onnx")
    x = torch.randn(256, 64)
    out = tmp_path / "int8.onnx"
    if mode == "dynamic":
        quantize_onnx_dynamic(fp32, out, Int8Settings())
    else:
        quantize_onnx_static(fp32, out, Int8Settings(),
                             calibration_batches(x, count=4, batch_size=64, seed=0))
    weights = int8_weights(out)
    assert len(weights) == 3  # every linear layer is int8
    # Zeros survive: every pruned weight is exactly 0 in int8 (rounding may add a few more).
    for name, layer in (("fc1", model.fc1), ("fc2", model.fc2), ("classifier", model.classifier)):
        (q,) = [w for key, w in weights.items() if key.startswith(name + ".")]
        q = q if q.shape == tuple(layer.weight.shape) else q.T
        assert np.all(q[layer.weight.detach().numpy() == 0] == 0)
        assert (q == 0).mean() >= 0.5
    assert out.stat().st_size <= 0.30 * dense_fp32_bytes(model)
    reference, int8 = model(x), OnnxModel(out)(x)
    assert (reference.argmax(1) == int8.argmax(1)).float().mean() > 0.95
    assert not torch.equal(reference, int8)  # it really is a different (int8) computation


def test_static_cnn_quantizes_convs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = DigitsCNN().eval()
    fp32 = _fp32(model, (1, 8, 8), tmp_path / "fp32.onnx")
    x = torch.randn(128, 1, 8, 8)
    out = quantize_onnx_static(fp32, tmp_path / "int8.onnx", Int8Settings(),
                               calibration_batches(x, count=2, batch_size=64, seed=0)).path
    shapes = {w.shape for w in int8_weights(out).values()}
    assert (32, 1, 3, 3) in shapes and (64, 32, 3, 3) in shapes
    assert out.stat().st_size <= 0.30 * dense_fp32_bytes(model)
    assert (model(x).argmax(1) == OnnxModel(out)(x).argmax(1)).float().mean() > 0.9


def test_backends_and_bad_files_raise_typed_errors(tmp_path: Path) -> None:
    assert settings_for("x86").reduce_range and not settings_for("x86_vnni").reduce_range
    with pytest.raises(UnsupportedRecipeError, match="arm"):
        settings_for("arm")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ArtifactFormatError):
        OnnxModel(bad)


def test_calibration_batches_are_seeded() -> None:
    x = torch.arange(100.0).unsqueeze(1)
    first = calibration_batches(x, count=3, batch_size=16, seed=1)
    assert [len(b) for b in first] == [16, 16, 16]
    assert torch.equal(torch.cat(first), torch.cat(calibration_batches(x, count=3, batch_size=16,
                                                                       seed=1)))
    assert not torch.equal(first[0], calibration_batches(x, count=1, batch_size=16, seed=2)[0])
    assert len(calibration_batches(x, count=50, batch_size=16, seed=0)) == 7
