"""Every scale and zero point of a saved int8 file is checked: planted bad parameters fail
with the tensor named, good ones pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from compression.errors import InvalidResultError
from compression.quantization.checks import MAX_STEP, check_quantization_parameters

pytestmark = pytest.mark.unit


def _qdq_file(path: Path, *, scale: Any = 0.05, zero_point: Any = None,
              weight_zero_point: Any = None) -> Path:
    """x -> Q/DQ -> MatMul(x, DQ(int8 weight)) -> y, with the given parameters."""
    zero_point = np.array(128, np.uint8) if zero_point is None else zero_point
    weight_zero_point = (np.zeros(3, np.int8) if weight_zero_point is None
                         else weight_zero_point)
    inits = [
        numpy_helper.from_array(np.asarray(scale, np.float32), "x_scale"),
        numpy_helper.from_array(zero_point, "x_zero_point"),
        numpy_helper.from_array(np.ones((4, 3), np.int8), "w_quantized"),
        numpy_helper.from_array(np.full(3, 0.01, np.float32), "w_scale"),
        numpy_helper.from_array(weight_zero_point, "w_zero_point"),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zero_point"], ["x_q"], name="q"),
        helper.make_node("DequantizeLinear", ["x_q", "x_scale", "x_zero_point"], ["x_dq"],
                         name="dq"),
        helper.make_node("DequantizeLinear", ["w_quantized", "w_scale", "w_zero_point"], ["w"],
                         name="w_dq", axis=1),
        helper.make_node("MatMul", ["x_dq", "w"], ["y"], name="/layer/MatMul"),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [None, 4])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, [None, 3])], initializer=inits)
    onnx.save(helper.make_model(graph), str(path))
    return path


def test_sound_parameters_pass(tmp_path: Path) -> None:
    check_quantization_parameters(_qdq_file(tmp_path / "ok.onnx"))


@pytest.mark.parametrize("scale,words", [
    (np.inf, "not a finite range"), (np.nan, "not a finite range"), (0.0, "not a finite range"),
    (-0.1, "not a finite range"),
    # A finfo.min mask: finite, positive, and useless (the old check let it through).
    (1.3344406e36, "sentinel"), (MAX_STEP * 2, "sentinel"),
])
def test_bad_scales_fail_naming_the_tensor_and_the_op_to_exclude(
        tmp_path: Path, scale: float, words: str) -> None:
    with pytest.raises(InvalidResultError, match=words) as info:
        check_quantization_parameters(_qdq_file(tmp_path / "bad.onnx", scale=scale))
    assert "'x'" in str(info.value)
    assert "exclude: {nodes: ['/layer/MatMul']}" in str(info.value)


@pytest.mark.parametrize("zero_point,weight_zero_point,words", [
    (np.array(0.5, np.float32), None, "not an integer"),
    (np.array([1, 2], np.uint8), None, "2 zero points for 1 scales"),
    (None, np.array([0, 3, 0], np.int8), "not symmetric"),
])
def test_bad_zero_points_fail(tmp_path: Path, zero_point: Any, weight_zero_point: Any,
                              words: str) -> None:
    with pytest.raises(InvalidResultError, match=words):
        check_quantization_parameters(_qdq_file(tmp_path / "bad.onnx", zero_point=zero_point,
                                                weight_zero_point=weight_zero_point))
