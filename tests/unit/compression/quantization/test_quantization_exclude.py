"""The recipe's ``exclude`` (op types, node globs) and calibration fields: validated strictly at
the edge, honoured by the int8 file, and reported in the summary's quantization block, which
also says plainly when ptq_dynamic quantized next to nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest
import torch
from torch import nn

from compression.errors import InvalidSpecError, UnsupportedRecipeError
from compression.quantization import STATIC_OP_TYPES, inspect_int8, quantize_model
from compression.quantization.summary import contents
from compression.spec import QuantizeSpec, expand, parse_spec
from compression.spec.models import QuantOpType
from compression.tasks.models import DigitsCNN, DigitsMLP

pytestmark = pytest.mark.unit


def _spec(quantize: dict[str, Any]) -> None:
    parse_spec({"name": "s", "task": "digits-mlp",
                "recipes": [{"name": "q", "quantize": quantize}]})


def test_the_spec_names_exactly_the_quantizable_op_types() -> None:
    assert list(get_args(QuantOpType)) == STATIC_OP_TYPES


@pytest.mark.parametrize("quantize,pointer", [
    ({"exclude": {"op_types": ["Softmax"]}}, "/recipes/0/quantize/exclude/op_types/0"),
    ({"exclude": {"nodes": [""]}}, "/recipes/0/quantize/exclude/nodes/0"),
    ({"exclude": {"nodes": ["x" * 257]}}, "/recipes/0/quantize/exclude/nodes/0"),
    ({"exclude": {"nodes": ["a\nb"]}}, "/recipes/0/quantize/exclude/nodes/0"),
    ({"exclude": {"nodes": ["*"] * 257}}, "/recipes/0/quantize/exclude/nodes"),
    ({"exclude": {"layers": ["fc1"]}}, "/recipes/0/quantize/exclude/layers"),
    ({"calibration": "kl"}, "/recipes/0/quantize/calibration"),
    ({"percentile": 50}, "/recipes/0/quantize/percentile"),
    ({"percentile": True}, "/recipes/0/quantize/percentile"),
    ({"calibration_batches": 5000}, "/recipes/0/quantize/calibration_batches"),
])
def test_bad_fields_are_refused_with_a_pointer(quantize: dict[str, Any], pointer: str) -> None:
    with pytest.raises(InvalidSpecError) as info:
        _spec(quantize)
    assert pointer in [e.pointer for e in info.value.errors]


def test_calibration_methods_are_a_grid_axis() -> None:
    spec = parse_spec({"name": "s", "task": "digits-mlp", "recipes": [{
        "name": "q", "quantize": {"mode": "ptq_static", "calibration": ["minmax", "entropy"],
                                  "exclude": {"nodes": ["/fc1/*"]}}}]})
    runs = [r for r in expand(spec) if r.recipe is not None]
    assert [r.recipe.quantize.calibration for r in runs if r.recipe and r.recipe.quantize] == [
        "minmax", "entropy"]


def _quantize(model: nn.Module, shape: tuple[int, ...], spec: QuantizeSpec,
              out: Path) -> dict[str, Any]:
    torch.manual_seed(0)
    x = torch.randn(64, *shape)
    quantized = quantize_model(model.eval(), spec, example=x[:2], calibration=[x],
                               out_dir=out)
    return contents(quantized)


def test_excluded_op_types_and_nodes_stay_float(tmp_path: Path) -> None:
    spec = QuantizeSpec(mode="ptq_static", exclude={"op_types": ["Conv"],
                                                    "nodes": ["/classifier/*"]})
    q = _quantize(DigitsCNN(), (1, 8, 8), spec, tmp_path)
    # ReLU, pools and Flatten have no quantized input left, so they stay float too.
    assert q["quantized_nodes"] == ["/fc1/Gemm"] and q["quantized_ops"] == {"Gemm": 1}
    assert q["weighted_layers"] == {"int8": 1, "total": 4}
    assert q["float_nodes"] == {"/conv1/Conv": "excluded by op type Conv",
                                "/conv2/Conv": "excluded by op type Conv",
                                "/classifier/Gemm": "excluded by node pattern '/classifier/*'"}
    assert 0.5 < q["int8_weight_fraction"] < 1.0 and q["warnings"] == []  # fc1 is the bulk


def test_dynamic_cnn_lists_its_fp32_convolutions(tmp_path: Path) -> None:
    """DigitsCNN's Linear layers hold most of its weights: dynamic mode quantized the bulk,
    which is no warning; the convolutions it left in fp32 are listed with the reason."""
    q = _quantize(DigitsCNN(), (1, 8, 8), QuantizeSpec(mode="ptq_dynamic"), tmp_path)
    assert q["quantized_ops"] == {"MatMul": 2}
    assert q["quantized_nodes"] == ["/fc1/Gemm_matmul", "/classifier/Gemm_matmul"]
    assert q["weighted_layers"] == {"int8": 2, "total": 4}
    assert q["float_nodes"]["/conv1/Conv"] == "ptq_dynamic quantizes MatMul (Linear) layers only"
    assert q["int8_weight_fraction"] > 0.5 and q["warnings"] == []


def test_dynamic_mode_on_a_conv_heavy_model_warns_plainly(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Conv2d(3, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    q = _quantize(model, (3, 16, 16), QuantizeSpec(mode="ptq_dynamic"), tmp_path)
    fraction = q["int8_weight_fraction"]
    assert fraction < 0.05
    assert q["warnings"] == [
        f"ptq_dynamic quantized 1 of 3 weighted layers ({fraction:.1%} of weight bytes): "
        "convolutions stay fp32 in dynamic mode; use ptq_static"]
    static = _quantize(model, (3, 16, 16), QuantizeSpec(mode="ptq_static"), tmp_path / "s")
    assert static["warnings"] == [] and static["weighted_layers"] == {"int8": 3, "total": 3}


def test_a_fully_quantized_mlp_reports_every_layer(tmp_path: Path) -> None:
    q = _quantize(DigitsMLP(), (64,), QuantizeSpec(mode="ptq_static"), tmp_path)
    report = inspect_int8(tmp_path / "model.int8.onnx")
    assert report.int8_layers == ["/fc1/Gemm", "/fc2/Gemm", "/classifier/Gemm"]
    assert q["quantized_ops"] == {"Gemm": 3}
    assert q["int8_weight_fraction"] == 1.0 and q["warnings"] == [] and q["float_nodes"] == {}


@pytest.mark.parametrize("mode,exclude", [
    ("ptq_static", {"op_types": list(STATIC_OP_TYPES)}),
    ("ptq_static", {"nodes": ["*"]}),
    ("ptq_dynamic", {"op_types": ["MatMul"]}),
])
def test_excluding_everything_is_a_user_error_not_a_quantize_all(
        mode: str, exclude: dict[str, Any], tmp_path: Path) -> None:
    # ONNX Runtime reads an empty list of op types or nodes as "quantize everything".
    with pytest.raises(UnsupportedRecipeError, match="nothing left to quantize"):
        _quantize(DigitsMLP(), (64,), QuantizeSpec(mode=mode, exclude=exclude), tmp_path)
