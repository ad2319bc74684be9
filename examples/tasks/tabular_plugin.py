"""A task plug-in written from scratch (docs/tasks.md walks through it).

Breast-cancer diagnosis from 30 measurements (scikit-learn's copy of the Wisconsin data set,
569 samples: no download). It shows each part of the task contract:

- batches are dicts (``{"features": ..., "label": ...}``) and ``split_batch`` says which
  entries are the model's inputs and which the target;
- the model takes named inputs and returns an object with ``.logits``, as Hugging Face
  models do;
- the loss is the task's own (label smoothing);
- the metrics are built-in ones plus one of its own (recall of the malignant class, a
  ``Metric`` with a goal), and the primary metric is macro-F1.

Use it in a spec as ``task: examples/tasks/tabular_plugin.py:task`` (a path on the worker),
or publish it from an installed package under the ``squeezelab.tasks`` entry points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from compression.tasks import Task, TaskData

MALIGNANT = 0  # scikit-learn's label for malignant tumours


@dataclass
class Output:
    logits: torch.Tensor


class Diagnosis(nn.Module):
    """An MLP over named inputs: ``model(features=x)`` returns ``Output(logits)``."""

    def __init__(self, width: int = 128) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(30, width), nn.ReLU(), nn.Linear(width, width),
                                  nn.ReLU())
        self.head = nn.Linear(width, 2)

    def forward(self, features: torch.Tensor) -> Output:
        return Output(self.head(self.body(features)))


class Rows(Dataset[dict[str, torch.Tensor]]):
    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"features": self.x[i], "label": self.y[i]}


def load_data(seed: int) -> TaskData:
    """60/20/20 split picked by ``seed``; features standardised with the train split's
    statistics."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    x, y = bunch.data.astype(np.float32), bunch.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n = len(y) // 5
    test, val, train = order[:n], order[n:2 * n], order[2 * n:]
    mean, std = x[train].mean(0), x[train].std(0) + 1e-6
    x = (x - mean) / std
    return TaskData(train=Rows(x[train], y[train]), val=Rows(x[val], y[val]),
                    test=Rows(x[test], y[test]))


def split_batch(batch: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], Any]:
    return {"features": batch["features"]}, batch["label"]


def smoothed_cross_entropy(logits: torch.Tensor, targets: Any) -> torch.Tensor:
    return F.cross_entropy(logits, targets, label_smoothing=0.05)


class MalignantRecall:
    """Share of malignant tumours the model finds: missing one costs most."""

    goal = "max"

    def __init__(self) -> None:
        self.found = self.total = 0

    def update(self, logits: torch.Tensor, targets: Any) -> None:
        malignant = targets == MALIGNANT
        self.found += int((logits.argmax(-1)[malignant] == MALIGNANT).sum())
        self.total += int(malignant.sum())

    def compute(self) -> float:
        return self.found / self.total if self.total else 0.0


task = Task(
    name="breast-cancer-mlp",
    description="MLP diagnosing breast tumours from 30 measurements (scikit-learn's data)",
    build_model=Diagnosis,
    load_data=load_data,
    classifier="head",
    loss=smoothed_cross_entropy,
    metrics={"macro_f1": "macro_f1", "accuracy": "accuracy",
             "malignant_recall": MalignantRecall},
    primary_metric="macro_f1",
    split_batch=split_batch,
    version="1",
)
