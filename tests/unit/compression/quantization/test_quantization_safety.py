"""Planted failures: int8 that would silently destroy a model must fail the run, or leave the
dangerous op in float, and a ptq_static BERT with a padded attention mask must stay close to
its fp32 model.

Before these checks, a finfo.min mask gave a finite scale of 1.3e36 that passed the
"finite and positive" check (every real value rounded to the zero point), and static int8
quantized attention's Q·Kᵀ and probabilities·V MatMuls, putting the Softmax's scores and
probabilities on a uint8 grid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx
import pytest
import torch
from torch import nn

from compression.errors import InvalidResultError
from compression.measure import export_onnx
from compression.quantization import OnnxModel
from compression.quantization.onnx_int8 import Int8Settings, quantize_onnx_static
from compression.runner import RunResult, execute_run
from compression.spec import expand, parse_spec
from compression.spec.models import QuantizeExclude
from compression.tasks import resolve_task
from compression.weights import load_pretrained
from compression.workload import Workload

pytestmark = pytest.mark.unit
TEXT = str(Path(__file__).parents[4] / "examples/tasks/synthetic_text.py:splits")
BERT_TASK = {"name": "tiny-bert", "metrics": ["accuracy"],
             "data": {"python": TEXT, "kwargs": {"train": 960, "val": 64, "test": 256,
                                                 "seq_len": 24}},
             "model": {"hf": "AutoModelForSequenceClassification", "config": {
                 "model_type": "bert", "vocab_size": 96, "hidden_size": 32,
                 "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
                 "max_position_embeddings": 32, "num_labels": 4}}}
LATENCY = {"batch_sizes": [8], "warmup": 1, "repeats": 3, "runtimes": ["onnxruntime"]}


class MaskedTokens(nn.Module):
    """Padded tokens filled with -1e9 before a Linear, whose padded outputs are dropped by
    the mask after it: fine in fp32, but the Linear's input range spans 1e9, so int8 would
    round every real value to the zero point."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 16)
        self.out = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keep = mask.unsqueeze(-1)
        hidden = torch.relu(self.fc(x + (1.0 - keep) * -1e9) * keep)
        return self.out(hidden.sum(1) / keep.sum(1))


def test_a_sentinel_mask_fails_the_run_and_the_named_exclusion_fixes_it(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = MaskedTokens().eval()
    x = torch.randn(256, 6, 8)
    mask = (torch.arange(6)[None, :] < torch.randint(2, 7, (256, 1))).float()
    inputs = {"x": x, "mask": mask}
    fp32 = export_onnx(model, {"x": x[:2], "mask": mask[:2]}, tmp_path / "fp32.onnx")
    calibration = [{"x": x[i:i + 64], "mask": mask[i:i + 64]} for i in range(0, 256, 64)]
    with pytest.raises(InvalidResultError, match="sentinel") as info:
        quantize_onnx_static(fp32, tmp_path / "int8.onnx", Int8Settings(), calibration)
    linear = next(n.name for n in onnx.load(str(fp32)).graph.node
                  if n.op_type in ("MatMul", "Gemm") and "/fc/" in n.name)
    assert f"exclude: {{nodes: [{linear!r}]}}" in str(info.value)
    # The remedy the message names works, and the int8 model then agrees with fp32.
    made = quantize_onnx_static(fp32, tmp_path / "int8.onnx", Int8Settings(), calibration,
                                exclude=QuantizeExclude(nodes=[linear]))
    assert made.plan.kept_float[linear] == f"excluded by node pattern {linear!r}"
    agree = (model(**inputs).argmax(1) == OnnxModel(made.path)(inputs).argmax(1)).float()
    assert agree.mean() >= 0.95


def _quantized_tensors(model: onnx.ModelProto) -> set[str]:
    """Float tensors that pass through a QuantizeLinear, and the DequantizeLinear outputs."""
    return {name for node in model.graph.node if node.op_type in ("QuantizeLinear",
                                                                  "DequantizeLinear")
            for name in (node.input[0], node.output[0])}


@pytest.fixture(scope="module")
def bert_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, RunResult]:
    configs = expand(parse_spec({
        "name": "bert-int8", "task": BERT_TASK, "seeds": [0],
        "baseline": {"epochs": 5, "batch_size": 32, "optimizer": {"name": "adamw",
                                                                  "lr": 2e-3}},
        "recipes": [{"name": "int8", "quantize": {"mode": "ptq_static",
                                                  "calibration_batches": 4}}],
        "measure": {"latency": LATENCY}}))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small trains 2.5x faster on one thread
    try:
        base = execute_run(configs[0], workdir=tmp_path_factory.mktemp("base"),
                           emit=lambda *a: None)
        int8 = execute_run(configs[1], workdir=tmp_path_factory.mktemp("int8"),
                           emit=lambda *a: None, baseline_weights=base.weights)
    finally:
        torch.set_num_threads(threads)
    return base, int8


def test_bert_int8_keeps_mask_softmax_and_attention_matmuls_float(
        bert_runs: tuple[RunResult, RunResult]) -> None:
    int8 = onnx.load(str(bert_runs[1].weights))
    quantized = _quantized_tensors(int8)
    for node in int8.graph.node:
        if node.op_type in ("Softmax", "Where", "LayerNormalization"):  # they compute in float
            assert not set(node.input) & quantized, node.name
        if node.op_type in ("Softmax", "Where") or node.name.endswith("self/Add"):  # mask
            assert node.output[0] not in quantized, node.name
        if node.op_type == "MatMul" and node.name.endswith(("self/MatMul", "self/MatMul_1")):
            assert not set(node.input) & quantized, node.name  # Q·Kᵀ and probabilities·V
    q = bert_runs[1].summary.to_json()["quantization"]
    assert q["quantized_ops"] == {"Gemm": 2, "MatMul": 12}
    assert q["weighted_layers"] == {"int8": 14, "total": 14}
    attention = [n for n, why in q["float_nodes"].items() if "activation × activation" in why]
    assert len(attention) == 4
    assert not [w for w in q["warnings"] if "quantized" in w]


def test_bert_int8_agrees_with_its_fp32_model(bert_runs: tuple[RunResult, RunResult]) -> None:
    base, int8 = bert_runs
    s = int8.summary.to_json()
    assert s["quantization"]["fp32_accuracy"] > 0.5  # trained: 4 classes, chance is 0.25
    assert abs(s["accuracy"] - s["quantization"]["fp32_accuracy"]) <= 0.02
    task = resolve_task(parse_spec({"name": "t", "task": BERT_TASK}).task)
    fp32 = task.build_model()
    load_pretrained(fp32, base.weights)
    fp32.eval()
    session = OnnxModel(int8.weights)
    same = total = 0
    with torch.inference_mode():
        for batch in Workload(task).batches("test"):
            inputs: Any = task.split_batch(batch)[0]
            assert (inputs["attention_mask"] == 0).any()  # padded: the mask matters
            expected = fp32(**inputs).logits.argmax(-1)
            same += int((session(inputs).argmax(-1) == expected).sum())
            total += len(expected)
    assert same / total >= 0.95
