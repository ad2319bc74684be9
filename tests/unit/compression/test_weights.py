"""Pretrained weights: any safetensors or a weights_only state dict, loaded strictly; pickled
code is refused."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from compression.errors import ArtifactFormatError
from compression.measure import save_state
from compression.weights import load_pretrained, read_weights

pytestmark = pytest.mark.unit


def _model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))


def _same(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 b.state_dict().values(), strict=True))


@pytest.mark.parametrize("fmt", ["safetensors", "squeezelab", "torch", "torch-nested"])
def test_each_format_loads_exactly(fmt: str, tmp_path: Path) -> None:
    source, target = _model(1), _model(2)
    state = source.state_dict()
    path = tmp_path / "weights"
    if fmt == "safetensors":
        save_file({k: v.contiguous() for k, v in state.items()}, path)
    elif fmt == "squeezelab":
        save_state(state, path)
    elif fmt == "torch":
        torch.save(state, path)
    else:
        torch.save({"epoch": 3, "state_dict": state}, path)
    assert not _same(source, target)
    load_pretrained(target, path)
    assert _same(source, target)


def test_a_mismatch_names_the_tensors(tmp_path: Path) -> None:
    state = _model(1).state_dict()
    state.pop("2.bias")
    state["0.weight"] = torch.zeros(3, 4)
    state["extra"] = torch.zeros(1)
    torch.save(state, tmp_path / "w.pt")
    with pytest.raises(ArtifactFormatError) as info:
        load_pretrained(_model(2), tmp_path / "w.pt")
    message = str(info.value)
    assert "missing: 2.bias" in message and "unexpected: extra" in message
    assert "0.weight (3, 4) != (8, 4)" in message


class _Payload:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("pwned",))


def test_pickled_code_is_never_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "evil.pt"
    with path.open("wb") as out:
        pickle.dump({"w": _Payload()}, out)
    with pytest.raises(ArtifactFormatError, match="weights_only"):
        read_weights(path)
    assert "pwned" not in capsys.readouterr().out
    (tmp_path / "junk").write_bytes(b"not weights at all")
    with pytest.raises(ArtifactFormatError):
        read_weights(tmp_path / "junk")
    with pytest.raises(ArtifactFormatError, match="no weights file"):
        read_weights(tmp_path / "absent")
