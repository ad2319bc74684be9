"""Batches of any structure: splitting, calling, logits, resizing and ONNX names."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn

from compression.batches import (
    FlatInputs,
    batch_len,
    call_model,
    concat,
    input_names,
    logits_of,
    onnx_feed,
    resize,
    split_batch,
)
from compression.errors import TaskContractError

pytestmark = pytest.mark.unit


def test_split_batch_by_shape() -> None:
    x, y = torch.zeros(4, 3), torch.arange(4)
    assert split_batch((x, y))[1] is y
    inputs, target = split_batch({"input_ids": x.long(), "attention_mask": x, "labels": y})
    assert set(inputs) == {"input_ids", "attention_mask"} and target is y
    inputs, target = split_batch({"pixel_values": x})
    assert set(inputs) == {"pixel_values"} and target is None
    inputs, target = split_batch([x, x, y])
    assert isinstance(inputs, tuple) and len(inputs) == 2 and target is y
    assert split_batch(x) == (x, None)


@dataclass
class _Out:
    logits: torch.Tensor


class _Named(nn.Module):
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> _Out:
        return _Out((input_ids * attention_mask).float().sum(1, keepdim=True).repeat(1, 3))


def test_call_model_and_logits_of_each_output_kind() -> None:
    ids, mask = torch.ones(2, 5, dtype=torch.long), torch.ones(2, 5, dtype=torch.long)
    out = call_model(_Named(), {"input_ids": ids, "attention_mask": mask})
    assert logits_of(out).shape == (2, 3)
    t = torch.zeros(2, 3)
    assert logits_of(t) is t and logits_of({"logits": t}) is t and logits_of((t, 1)) is t
    assert call_model(lambda a, b: a + b, (t, t)).shape == (2, 3)
    with pytest.raises(TaskContractError, match=r"\.logits"):
        logits_of("not logits")


def test_resize_cuts_or_repeats_every_tensor_alike() -> None:
    batch = {"a": torch.arange(3), "b": torch.arange(6).view(3, 2)}
    assert batch_len(batch) == 3
    grown = resize(batch, 7)
    assert grown["a"].tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert grown["b"][3].tolist() == [0, 1]
    assert resize(batch, 2)["a"].tolist() == [0, 1]
    joined = concat([batch, batch])
    assert batch_len(joined) == 6


def test_onnx_names_follow_the_structure() -> None:
    t = torch.zeros(2, 3)
    assert input_names(t) == ["input"]
    assert input_names((t, t)) == ["input_0", "input_1"]
    assert input_names({"input_ids": t}) == ["input_ids"]
    feed = onnx_feed({"input_ids": t.long(), "mask": t})
    assert feed["input_ids"].dtype.name == "int64" and feed["mask"].dtype.name == "float32"
    with pytest.raises(TaskContractError):
        input_names({"nested": {"x": t}})


def test_flat_inputs_rebuilds_named_inputs() -> None:
    ids, mask = torch.ones(2, 5, dtype=torch.long), torch.zeros(2, 5, dtype=torch.long)
    flat = FlatInputs(_Named(), {"input_ids": ids, "attention_mask": mask})
    assert flat(ids, mask).shape == (2, 3)
    assert float(flat(ids, mask).sum()) == 0.0
