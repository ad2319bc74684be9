"""Calibration methods (minmax, percentile, entropy) on ONNX Runtime's QDQ format, with a model
of several named inputs (a BERT fed dicts, as a tokenizer gives them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper
from transformers import BertConfig, BertForSequenceClassification

from compression.measure import export_onnx
from compression.quantization import Calibration, OnnxModel, quantize_model
from compression.quantization.onnx_int8 import Int8Settings, quantize_onnx_static
from compression.spec import QuantizeSpec

pytestmark = pytest.mark.unit


def _bert() -> tuple[torch.nn.Module, list[dict[str, torch.Tensor]]]:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32,
                        max_position_embeddings=16, num_labels=3)
    ids = torch.randint(4, 64, (64, 12))
    mask = (torch.arange(12)[None, :] < torch.randint(4, 13, (64, 1))).long()
    batches = [{"input_ids": ids[i:i + 16], "attention_mask": mask[i:i + 16]}
               for i in range(0, 64, 16)]
    return BertForSequenceClassification(config).eval(), batches


def _activation_scales(path: Path) -> dict[str, float]:
    model = onnx.load(str(path))
    constants = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    return {n.input[0]: float(constants[n.input[1]]) for n in model.graph.node
            if n.op_type == "QuantizeLinear" and constants[n.input[1]].ndim == 0}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    model, batches = _bert()
    scratch = tmp_path_factory.mktemp("calibration")
    fp32 = export_onnx(model, batches[0], scratch / "fp32.onnx")
    out: dict[str, Any] = {"fp32": fp32, "batches": batches}
    for method, percentile in (("minmax", 99.999), ("percentile", 99.999),
                               ("percentile", 99.0), ("entropy", 99.999)):
        out[f"{method}-{percentile}"] = quantize_onnx_static(
            fp32, scratch / f"{method}-{percentile}.onnx", Int8Settings(), batches,
            calibrate=Calibration(method=method, percentile=percentile))  # type: ignore[arg-type]
    return out


@pytest.mark.parametrize("key", ["minmax-99.999", "percentile-99.999", "percentile-99.0",
                                 "entropy-99.999"])
def test_every_method_gives_a_checked_int8_model_close_to_fp32(made: dict[str, Any],
                                                                key: str) -> None:
    fp32, int8 = OnnxModel(made["fp32"]), OnnxModel(made[key].path)
    for batch in made["batches"]:
        expected, got = fp32(batch), int8(batch)
        assert torch.isfinite(got).all()
        assert (got - expected).abs().max() < 0.1 * expected.abs().max() + 0.05
    assert made[key].plan.quantize  # something was quantized (and checked while saving)


def test_methods_pick_different_ranges(made: dict[str, Any]) -> None:
    minmax = _activation_scales(made["minmax-99.999"].path)
    tight = _activation_scales(made["percentile-99.0"].path)
    entropy = _activation_scales(made["entropy-99.999"].path)
    assert minmax.keys() == tight.keys() == entropy.keys()
    # A percentile range is inside the observed range: never a wider step, some narrower.
    assert all(tight[k] <= minmax[k] * (1 + 1e-6) for k in minmax)
    assert sum(tight[k] < 0.9 * minmax[k] for k in minmax) >= len(minmax) // 2
    assert any(not np.isclose(entropy[k], minmax[k]) for k in minmax)


def test_the_summary_records_method_batches_and_time(tmp_path: Path) -> None:
    model, batches = _bert()
    spec = QuantizeSpec(mode="ptq_static", calibration="percentile", percentile=99.9)
    quantized = quantize_model(model, spec, example=batches[0], calibration=batches,
                               out_dir=tmp_path)
    calibration = quantized.describe()["calibration"]
    assert calibration == {"method": "percentile", "percentile": 99.9, "batches": 4,
                           "seconds": calibration["seconds"]}  # type: ignore[index]
    assert 0 < calibration["seconds"] < 60
    dynamic = quantize_model(model, QuantizeSpec(mode="ptq_dynamic"), example=batches[0],
                             calibration=[], out_dir=tmp_path / "d")
    assert "calibration" not in dynamic.describe()
