"""Training checkpoints: enough state to resume a run at an epoch boundary, bit for bit.

A checkpoint holds the model's state (channel-pruned shapes included), the optimizer's state,
the shuffling generator's state and the pruning target reached so far. It is written with
``torch.save`` and read back with ``weights_only=True``, so loading one never unpickles code.
Resuming from the checkpoint of epoch k replays exactly what an uninterrupted run would have
done from epoch k + 1 on (same batches, same optimizer moments, same masks).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from compression.errors import ArtifactFormatError

CHECKPOINT_FILE = "checkpoint.pt"
_FORMAT = 1


@dataclass
class TrainState:
    """Where training stood at the end of an epoch.

    phase: "baseline" or "finetune"; a checkpoint never resumes a different phase.
    epoch: epochs completed; step: optimizer steps taken.
    pruned_to: the pruning target already applied (0.0 when nothing was pruned).
    """

    phase: str
    epoch: int
    step: int
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    generator: torch.Tensor
    pruned_to: float = 0.0


def save_checkpoint(state: TrainState, path: Path) -> Path:
    """Write ``state`` atomically (a reader never sees half a file); returns ``path``."""
    payload = {
        "format": _FORMAT, "phase": state.phase, "epoch": state.epoch, "step": state.step,
        "model": {k: v.detach().clone() for k, v in state.model.items()},
        "optimizer": state.optimizer, "generator": state.generator,
        "pruned_to": state.pruned_to,
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: Path) -> TrainState:
    """Read a checkpoint written by ``save_checkpoint``; raises ArtifactFormatError if it is
    not one."""
    try:
        payload = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise ArtifactFormatError(f"{path.name} is not a readable checkpoint: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ArtifactFormatError(f"{path.name} is not a squeezelab checkpoint")
    return TrainState(phase=str(payload["phase"]), epoch=int(payload["epoch"]),
                      step=int(payload["step"]), model=dict(payload["model"]),
                      optimizer=dict(payload["optimizer"]), generator=payload["generator"],
                      pruned_to=float(payload["pruned_to"]))
