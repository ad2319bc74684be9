"""QAT fake-quantizes what the int8 graph quantizes: every fake-quantized layer is an int8
layer of the static export of the same model (exclusions included), and every int8 layer is
fake-quantized; outputs are faked where int8 quantizes them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from transformers import BertConfig, BertForSequenceClassification

from compression.batches import ModelInputs, forward_logits
from compression.measure import export_onnx
from compression.quantization import attach_fake_quant, inspect_int8
from compression.quantization.onnx_int8 import Int8Settings, quantize_onnx_static
from compression.spec.models import QuantizeExclude
from compression.tasks.models import DigitsCNN, DigitsMLP

pytestmark = pytest.mark.unit


def _bert() -> tuple[nn.Module, ModelInputs]:
    config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=32,
                        max_position_embeddings=16, num_labels=3)
    ids = torch.randint(4, 64, (32, 12))
    mask = (torch.arange(12)[None, :] < torch.randint(4, 13, (32, 1))).long()
    return BertForSequenceClassification(config), {"input_ids": ids, "attention_mask": mask}


def _first(inputs: ModelInputs, n: int) -> ModelInputs:
    if isinstance(inputs, dict):
        return {k: v[:n] for k, v in inputs.items()}
    assert isinstance(inputs, torch.Tensor)
    return inputs[:n]


def _sequential_blocks() -> tuple[nn.Module, ModelInputs]:
    """Layers inside containers: the exporter names them with both scopes
    (``/body/body.0/Gemm``), which once left them without fake quantization."""
    body = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    return _Wrapped(body), torch.randn(32, 64)


class _Wrapped(nn.Module):
    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


CASES = {
    "mlp": (lambda: (DigitsMLP(), torch.randn(32, 64)), QuantizeExclude()),
    "cnn": (lambda: (DigitsCNN(), torch.randn(32, 1, 8, 8)), QuantizeExclude()),
    "bert": (_bert, QuantizeExclude(nodes=["*/layer.1/output/dense/*"])),
    "containers": (_sequential_blocks, QuantizeExclude()),
    "cnn-no-conv": (lambda: (DigitsCNN(), torch.randn(32, 1, 8, 8)),
                    QuantizeExclude(op_types=["Conv"])),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fake_quantized_layers_are_the_int8_layers(case: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    factory, exclude = CASES[case]
    model, inputs = factory()
    handle = attach_fake_quant(model, reduce_range=True, example=_first(inputs, 2),
                               exclude=exclude)
    faked = {site.node: site for site in handle.sites.layers}
    assert handle.sites.unmatched == []
    handle.remove()
    fp32 = export_onnx(model.eval(), _first(inputs, 2), tmp_path / "fp32.onnx")
    made = quantize_onnx_static(fp32, tmp_path / "int8.onnx", Int8Settings(), [inputs],
                                exclude=exclude)
    assert set(faked) == set(inspect_int8(made.path).int8_layers)
    modules = dict(model.named_modules())
    assert all(type(modules[site.module]) in (nn.Linear, nn.Conv2d) for site in faked.values())
    if case == "bert":
        assert not any("layer.1.output.dense" in site.module for site in faked.values())
        assert len(faked) == 13  # 2 layers x 6 Linear, pooler, classifier, minus the excluded
        assert {s.output_at for n, s in faked.items() if n.endswith("MatMul")} == {
            "before_bias"}
        assert {s.output_at for n, s in faked.items() if n.endswith("Gemm")} == {"bias"}
    if case == "containers":
        assert {site.module for site in faked.values()} == {"body.0", "body.2"}
    if case == "cnn":
        assert faked["/conv1/Conv"].output_at == "bn1"  # BatchNorm folded into the conv
        assert faked["/conv2/Conv"].output_at == "bn2"


def _levels(x: torch.Tensor) -> int:
    return int(torch.unique(x.detach()).numel())


def test_outputs_are_faked_where_int8_quantizes_them() -> None:
    torch.manual_seed(0)
    model, inputs = _bert()
    handle = attach_fake_quant(model, reduce_range=True, example=_first(inputs, 2))
    seen: dict[str, torch.Tensor] = {}
    query = model.bert.encoder.layer[0].attention.self.query  # MatMul + Add: before bias
    query.register_forward_hook(lambda m, a, out: seen.update(query=out - m.bias))
    model.train()
    forward_logits(model, inputs)
    model.eval()
    forward_logits(model, inputs)
    assert _levels(seen["query"]) <= 256  # uint8 before the bias is added
    handle.remove()
    forward_logits(model, inputs)
    assert _levels(seen["query"]) > 256  # plain fp32 again

    cnn = DigitsCNN()
    handle = attach_fake_quant(cnn, reduce_range=True, example=torch.randn(2, 1, 8, 8))
    cnn.bn1.register_forward_hook(lambda m, a, out: seen.update(bn1=out))
    cnn.conv1.register_forward_hook(lambda m, a, out: seen.update(conv1=out))
    x = torch.randn(16, 1, 8, 8)
    cnn.train()
    cnn(x)
    cnn.eval()
    cnn(x)
    assert _levels(seen["bn1"]) <= 256  # int8 quantizes after the folded BatchNorm ...
    assert _levels(seen["conv1"]) > 256  # ... not between the conv and it
    handle.remove()
    assert type(cnn.bn1) is nn.BatchNorm2d and "_qat_output" not in cnn.bn1.__dict__
