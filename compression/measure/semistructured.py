"""2:4 sparse tensor cores: a 2:4-pruned model's Linear layers run as semi-structured sparse
matrices on GPUs that have them (NVIDIA Ampere and newer), timed against the same model dense.

Sparse tensor cores take fp16/bf16 (and int8) operands, so both models are timed in half
precision (the training precision's dtype, bf16 by default), interleaved, each call timed
with CUDA events (``latency.cuda_timed_call``). Layers whose shape the kernels do not take
(rows and columns not multiples of 32 and 64), or whose weights are not 2:4, stay dense and
are listed with the reason.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from compression.batches import ModelInputs, apply, to_device
from compression.measure.latency import cuda_timed_call, percentile, time_interleaved

# Sparse operand shape the fp16/bf16 kernels accept: rows and columns multiples of these.
_MIN_ROWS, _MIN_COLS = 32, 64


def is_2to4(weight: torch.Tensor) -> bool:
    """Whether every group of 4 consecutive input weights holds at most 2 nonzeros."""
    if weight.dim() != 2 or weight.shape[1] % 4:
        return False
    return bool(((weight.reshape(weight.shape[0], -1, 4) != 0).sum(-1) <= 2).all())


def semi_structured_copy(model: nn.Module, dtype: torch.dtype,
                         ) -> tuple[nn.Module, list[str], dict[str, str]]:
    """A ``dtype`` copy of ``model`` whose 2:4 Linear weights are semi-structured sparse:
    (copy, converted layer names, {skipped layer: reason})."""
    from torch.sparse import to_sparse_semi_structured

    sparse = copy.deepcopy(model).to(dtype).eval()
    converted: list[str] = []
    skipped: dict[str, str] = {}
    for name, layer in sparse.named_modules():
        if not isinstance(layer, nn.Linear):
            continue
        weight = layer.weight.detach()
        rows, cols = weight.shape
        if not is_2to4(weight):
            skipped[name] = "not 2:4 sparse"
        elif rows % _MIN_ROWS or cols % _MIN_COLS:
            skipped[name] = (f"shape {rows}x{cols}: the kernels take multiples of "
                             f"{_MIN_ROWS}x{_MIN_COLS}")
        else:
            try:
                layer.weight = nn.Parameter(to_sparse_semi_structured(weight),
                                            requires_grad=False)
                converted.append(name)
            except (RuntimeError, ValueError) as exc:
                skipped[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return sparse, converted, skipped


@torch.inference_mode()
def measure_semi_structured(model: nn.Module, *, examples: Callable[[int], ModelInputs],
                            batch_sizes: Sequence[int], dtype: torch.dtype = torch.bfloat16,
                            warmup: int = 10, repeats: int = 50) -> dict[str, Any]:
    """The summary's ``semi_structured`` block for a 2:4-pruned ``model`` on a CUDA device."""
    device = next(model.parameters()).device
    dense = copy.deepcopy(model).to(dtype).eval()
    sparse, converted, skipped = semi_structured_copy(model, dtype)
    block: dict[str, Any] = {"dtype": str(dtype).removeprefix("torch."), "layers": converted,
                             "skipped": skipped}
    if not converted:
        block["note"] = "no layer could use the 2:4 kernels: nothing was timed"
        return block
    latency: dict[str, dict[str, dict[str, float]]] = {"sparse": {}, "dense": {}}
    speedup: dict[str, float] = {}
    for batch_size in batch_sizes:
        inputs = _cast(to_device(examples(batch_size), device), dtype)
        timed = time_interleaved({"sparse": cuda_timed_call(sparse, inputs),
                                  "dense": cuda_timed_call(dense, inputs)},
                                 warmup=warmup, repeats=repeats)
        for name, ms in timed.items():
            latency[name][str(batch_size)] = {"p50": percentile(ms, 50),
                                              "p90": percentile(ms, 90)}
        speedup[str(batch_size)] = (latency["dense"][str(batch_size)]["p50"]
                                    / latency["sparse"][str(batch_size)]["p50"])
    block.update(latency_ms=latency["sparse"], dense_latency_ms=latency["dense"],
                 speedup_vs_dense=speedup, timing="CUDA events")
    return block


def _cast(inputs: Any, dtype: torch.dtype) -> Any:
    """Floating-point inputs in ``dtype``; token ids and masks as they are."""
    return apply(lambda t: t.to(dtype) if t.is_floating_point() else t, inputs)
