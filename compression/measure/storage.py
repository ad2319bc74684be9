"""Safe, compact weight files: safetensors, with a bitmask encoding for sparse float tensors.

A floating tensor whose bitmask encoding is smaller than its dense bytes is stored as two
tensors, ``<name>:mask`` (``np.packbits`` of the kept elements, uint8) and ``<name>:values``
(the kept elements, in order); its original shape is recorded in the file's metadata. Every
other tensor is stored as it is. Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_save
from torch import nn

from compression.errors import ArtifactFormatError, UnsupportedRecipeError

_FORMAT_KEY = "squeezelab.format"
_FORMAT = "safetensors-bitmask/1"
_SPARSE_KEY = "squeezelab.sparse"  # JSON: {tensor name: original shape}
_RESERVED = "squeezelab."
_MASK, _VALUES = ":mask", ":values"
# Two header entries replace one; each costs roughly this many bytes of JSON.
_ENTRY_OVERHEAD = 96
_SPARSE_DTYPES = {torch.float16, torch.bfloat16, torch.float32, torch.float64}


def _sparse_parts(tensor: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(packed mask, kept values) when the bitmask encoding is smaller than the dense bytes."""
    if tensor.dtype not in _SPARSE_DTYPES or tensor.numel() == 0:
        return None
    flat = tensor.reshape(-1)
    # -0.0 is kept as a value so that loading restores the exact bits.
    keep = (flat != 0) | torch.signbit(flat)
    kept = int(keep.sum())
    n = flat.numel()
    sparse_bytes = math.ceil(n / 8) + kept * flat.element_size() + _ENTRY_OVERHEAD
    if sparse_bytes >= n * flat.element_size():
        return None
    mask = torch.from_numpy(np.packbits(keep.numpy()))
    return mask, flat[keep].clone()


def save_state(
    state: Mapping[str, torch.Tensor], path: Path, *, metadata: Mapping[str, str] | None = None
) -> int:
    """Write ``state`` as a safetensors file (sparse tensors bitmask-encoded); return its bytes.

    Args:
        metadata: extra text metadata kept in the header; keys must not start with
            ``squeezelab.`` (reserved for the encoding).
    """
    extra = dict(metadata or {})
    if any(key.startswith(_RESERVED) for key in extra):
        raise ValueError(f"metadata keys starting with {_RESERVED!r} are reserved")
    tensors: dict[str, torch.Tensor] = {}
    shapes: dict[str, list[int]] = {}
    for name, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name!r} is a {type(value).__name__}, not a tensor")
        if value.is_quantized or value.is_sparse:
            raise UnsupportedRecipeError(
                f"cannot store {name!r}: {value.dtype} / {value.layout} tensors are not supported"
            )
        # A private contiguous CPU copy: safetensors refuses tensors that share memory (tied
        # weights) and non-contiguous views.
        tensor = value.detach().to("cpu").clone(memory_format=torch.contiguous_format)
        parts = _sparse_parts(tensor)
        if parts is None:
            entries = {name: tensor}
        else:
            entries = {name + _MASK: parts[0], name + _VALUES: parts[1]}
            shapes[name] = list(tensor.shape)
        for key, entry in entries.items():
            if key in tensors or (key != name and key in state):
                raise ValueError(f"tensor name {key!r} clashes with the sparse encoding")
            tensors[key] = entry
    header = {**extra, _FORMAT_KEY: _FORMAT, _SPARSE_KEY: json.dumps(shapes)}
    data = safetensors_save(tensors, metadata=header)
    # Write then rename, so a crash never leaves a half-written file under the real name.
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path.stat().st_size


def _read(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """The header metadata and the raw stored tensors of one of our files."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta: dict[str, str] = dict(handle.metadata() or {})
            raw = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except SafetensorError as exc:
        raise ArtifactFormatError(f"{path} is not a valid safetensors file: {exc}") from None
    if meta.get(_FORMAT_KEY) != _FORMAT:
        raise ArtifactFormatError(f"{path} was not written by squeezelab ({_FORMAT} expected)")
    return meta, raw


def _decode(name: str, mask: torch.Tensor, values: torch.Tensor, shape: object) -> torch.Tensor:
    if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
        raise ArtifactFormatError(f"bad shape {shape!r} recorded for {name!r}")
    n = math.prod(shape)
    if mask.dtype != torch.uint8 or mask.shape != (math.ceil(n / 8),) or values.dim() != 1:
        raise ArtifactFormatError(f"sparse encoding of {name!r} does not match its shape")
    keep = torch.from_numpy(np.unpackbits(mask.numpy(), count=n).astype(bool))
    if int(keep.sum()) != values.numel():
        raise ArtifactFormatError(f"sparse encoding of {name!r}: mask and values disagree")
    dense = torch.zeros(n, dtype=values.dtype)
    dense[keep] = values
    return dense.reshape(shape)


def load_state(path: Path) -> dict[str, torch.Tensor]:
    """Read a file written by ``save_state``, restoring every tensor bit for bit.

    Raises ``ArtifactFormatError`` for a file that is corrupt or was not written by us.
    """
    meta, raw = _read(path)
    try:
        shapes = json.loads(meta.get(_SPARSE_KEY, "{}"))
    except json.JSONDecodeError:
        shapes = None
    if not isinstance(shapes, dict):
        raise ArtifactFormatError(f"{path}: unreadable {_SPARSE_KEY} metadata")
    state: dict[str, torch.Tensor] = {}
    for name, shape in shapes.items():
        try:
            mask, values = raw.pop(name + _MASK), raw.pop(name + _VALUES)
        except KeyError:
            raise ArtifactFormatError(f"{path}: sparse tensor {name!r} is incomplete") from None
        state[name] = _decode(name, mask, values, shape)
    state.update(raw)
    return state


def load_metadata(path: Path) -> dict[str, str]:
    """The extra metadata given to ``save_state`` (the encoding's own keys left out)."""
    meta, _ = _read(path)
    return {k: v for k, v in meta.items() if not k.startswith(_RESERVED)}


def dense_fp32_bytes(model: nn.Module) -> int:
    """Bytes of the model's parameters and floating buffers stored densely as fp32."""
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for b in model.buffers() if b.is_floating_point())
    return 4 * (params + buffers)


def _resize(module: nn.Module, attr: str, shape: tuple[int, ...]) -> None:
    """Replace ``module.<attr>`` by a zero tensor of ``shape`` (same kind, dtype, device)."""
    current = getattr(module, attr, None)
    if not isinstance(current, torch.Tensor) or tuple(current.shape) == shape:
        return
    fresh = torch.zeros(shape, dtype=current.dtype, device=current.device)
    if isinstance(current, nn.Parameter):
        setattr(module, attr, nn.Parameter(fresh, requires_grad=current.requires_grad))
    else:
        setattr(module, attr, fresh)  # a registered buffer stays a buffer


def _fit(module: nn.Module, prefix: str, state: Mapping[str, torch.Tensor]) -> None:
    """Shrink one Linear / Conv / BatchNorm / LayerNorm / Embedding module to the shapes of
    its saved weights."""

    def saved(attr: str) -> torch.Tensor | None:
        return state.get(prefix + attr)

    if isinstance(module, nn.Linear):
        weight = saved("weight")
        if weight is None or weight.dim() != 2:
            return
        module.out_features, module.in_features = weight.shape
        _resize(module, "weight", tuple(weight.shape))
        _resize(module, "bias", (module.out_features,))
    elif isinstance(module, nn.Conv1d | nn.Conv2d):
        weight = saved("weight")
        if weight is None:
            return
        if weight.shape[2:] != module.weight.shape[2:]:
            raise ArtifactFormatError(f"saved kernel {tuple(weight.shape)} does not fit {module}")
        out_channels, groups = weight.shape[0], module.groups
        if groups > 1 and module.in_channels == groups:
            # Depthwise: removing a channel removes its whole group.
            groups = out_channels // (module.out_channels // module.groups)
        if groups < 1 or out_channels % groups:
            raise ArtifactFormatError(f"saved kernel {tuple(weight.shape)} does not fit {module}")
        module.groups, module.out_channels = groups, out_channels
        module.in_channels = weight.shape[1] * groups
        _resize(module, "weight", tuple(weight.shape))
        _resize(module, "bias", (out_channels,))
    elif isinstance(module, nn.LayerNorm):
        ref = saved("weight")
        if ref is None or ref.dim() != len(module.normalized_shape):
            return
        module.normalized_shape = tuple(ref.shape)
        for attr in ("weight", "bias"):
            _resize(module, attr, tuple(ref.shape))
    elif isinstance(module, nn.Embedding):
        weight = saved("weight")
        if weight is None or weight.dim() != 2:
            return
        module.num_embeddings, module.embedding_dim = weight.shape
        _resize(module, "weight", tuple(weight.shape))
    elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
        ref = saved("running_mean")
        ref = saved("weight") if ref is None else ref
        if ref is None or ref.dim() != 1:
            return
        module.num_features = ref.shape[0]
        for attr in ("weight", "bias", "running_mean", "running_var"):
            _resize(module, attr, (module.num_features,))


def _shrink_rest(module: nn.Module, prefix: str, state: Mapping[str, torch.Tensor]) -> None:
    """Shrink a module's own tensors that channel pruning removed entries from."""
    own = {**dict(module.named_parameters(recurse=False)),
           **dict(module.named_buffers(recurse=False))}
    for attr, current in own.items():
        saved = state.get(prefix + attr)
        if (saved is None or saved.shape == current.shape or saved.dim() != current.dim()
                or any(s > c for s, c in zip(saved.shape, current.shape, strict=True))):
            continue
        _resize(module, attr, tuple(saved.shape))


def load_into(model: nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    """Load ``state`` into a freshly built dense model, shrinking channel-pruned layers first.

    Linear, Conv1d/2d, BatchNorm1d/2d, LayerNorm and Embedding modules take the saved shapes
    (and matching ``in_features`` / ``out_channels`` / ``num_features`` ...); any other
    parameter or buffer (a ConvNeXt layer scale) shrinks to a saved tensor of the same rank
    that is nowhere larger. Then the state is loaded strictly. Raises
    ``ArtifactFormatError`` when the weights do not fit the architecture.
    """
    for name, module in model.named_modules():
        prefix = f"{name}." if name else ""
        _fit(module, prefix, state)
        _shrink_rest(module, prefix, state)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ArtifactFormatError(f"saved weights do not fit the model: {exc}") from None
