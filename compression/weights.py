"""Pretrained weights a user brings: read safely, loaded strictly into the task's model.

Accepted files: safetensors (any writer: ``safetensors.torch.save_file``, Hugging Face's
``model.safetensors``, squeezelab's own sparse encoding), or a PyTorch file holding a state
dict (``torch.save(model.state_dict(), path)``), read with ``weights_only=True`` so that
nothing is unpickled. A state dict nested under ``state_dict`` or ``model`` is accepted too.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from torch import nn

from compression.errors import ArtifactFormatError
from compression.measure.storage import load_state

_SAFETENSORS_MAGIC_MAX = 100_000_000  # a safetensors file starts with its header's length


def _is_safetensors(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(9)
    if len(head) < 9:
        return False
    header_len = int.from_bytes(head[:8], "little")
    return 0 < header_len < _SAFETENSORS_MAGIC_MAX and head[8:9] == b"{"


def _tensors(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model"):
            if key in obj and isinstance(obj[key], Mapping):
                obj = obj[key]
                break
        if obj and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
            return dict(obj)
    raise ArtifactFormatError(f"{path.name} holds no state dict of tensors")


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a weights file, by name; ``ArtifactFormatError`` if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactFormatError(f"no weights file {path}")
    if _is_safetensors(path):
        try:
            with safe_open(str(path), framework="pt") as handle:
                ours = (handle.metadata() or {}).get("squeezelab.format") is not None
                if not ours:
                    return {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        except SafetensorError as exc:
            raise ArtifactFormatError(f"{path.name} is not a valid safetensors file: "
                                      f"{exc}") from None
        return load_state(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors for code objects, zip errors for other files
        raise ArtifactFormatError(
            f"{path.name} is neither safetensors nor a PyTorch state dict loadable with "
            f"weights_only=True: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    return _tensors(obj, path)


def load_pretrained(model: nn.Module, path: Path) -> None:
    """Load a weights file into ``model`` strictly: every parameter and buffer, same shapes.

    Raises ``ArtifactFormatError`` naming the missing, unexpected or mis-shaped tensors.
    """
    state = read_weights(path)
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
              if k in state and state[k].shape != v.shape]
    if missing or unexpected or shapes:
        parts = []
        for label, names in (("missing", missing), ("unexpected", unexpected),
                             ("shape", shapes)):
            if names:
                more = f" (+{len(names) - 5} more)" if len(names) > 5 else ""
                parts.append(f"{label}: {', '.join(names[:5])}{more}")
        raise ArtifactFormatError(f"{path.name} does not fit the task's model: "
                                  + "; ".join(parts))
    with torch.no_grad():
        model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})
