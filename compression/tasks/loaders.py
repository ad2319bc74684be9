"""Batches of a split: in-memory tensors sliced, datasets through a DataLoader, or the task's
own loader factory.

Shuffling draws from the training phase's ``torch.Generator`` (saved in checkpoints), so an
epoch's order is the same whether the run was interrupted or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sized
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset

from compression.batches import Batch
from compression.errors import TaskContractError
from compression.tasks.contract import DataSource, DataSplits, TaskData


class TensorBatches:
    """Batches of in-memory tensors, sliced by a (seeded) permutation: no per-sample calls.

    Each epoch's permutation is ``torch.randperm(n, generator=generator)``, which is what the
    engine drew before loaders existed, so built-in tasks train on the same batches.
    """

    def __init__(self, tensors: tuple[torch.Tensor, ...], *, batch_size: int, shuffle: bool,
                 generator: torch.Generator | None) -> None:
        self.tensors, self.batch_size = tensors, batch_size
        self.shuffle, self.generator = shuffle, generator
        self.n = len(tensors[0])

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        if self.shuffle:
            order = torch.randperm(self.n, generator=self.generator)
            for i in range(0, self.n, self.batch_size):
                idx = order[i:i + self.batch_size]
                yield tuple(t[idx] for t in self.tensors)
        else:
            for i in range(0, self.n, self.batch_size):
                yield tuple(t[i:i + self.batch_size] for t in self.tensors)


def as_task_data(data: TaskData | DataSplits) -> TaskData:
    """``TaskData`` of what a task's ``load_data`` returned."""
    if isinstance(data, TaskData):
        return data
    if isinstance(data, DataSplits):
        return TaskData(train=TensorDataset(data.x_train, data.y_train),
                        val=TensorDataset(data.x_val, data.y_val),
                        test=TensorDataset(data.x_test, data.y_test))
    raise TaskContractError(f"load_data returned a {type(data).__name__}: return a "
                            "compression.tasks.TaskData (or DataSplits)")


def batches(source: DataSource, *, batch_size: int, shuffle: bool,
            generator: torch.Generator | None, num_workers: int,
            collate_fn: Any = None) -> Iterable[Batch]:
    """The batches of one split, in a seeded order when ``shuffle``."""
    if isinstance(source, TensorDataset):
        return TensorBatches(tuple(source.tensors), batch_size=batch_size, shuffle=shuffle,
                             generator=generator)
    if isinstance(source, Dataset):
        iterable = isinstance(source, IterableDataset)
        return DataLoader(source, batch_size=batch_size, shuffle=shuffle and not iterable,
                          generator=generator, num_workers=num_workers, collate_fn=collate_fn,
                          persistent_workers=False)
    if callable(source):
        return source(batch_size=batch_size, shuffle=shuffle,
                      generator=generator or torch.Generator().manual_seed(0),
                      num_workers=num_workers)
    raise TaskContractError(f"a data split is a torch Dataset or a loader factory, not "
                            f"{type(source).__name__}")


def sized(loader: Iterable[Batch], split: str) -> int:
    """Batches per epoch; training needs it to plan its steps and schedules."""
    if isinstance(loader, Sized):
        try:
            return len(loader)
        except TypeError:  # an IterableDataset without __len__ behind a DataLoader
            pass
    raise TaskContractError(
        f"the {split} data has no length: give a map-style Dataset, an IterableDataset with "
        "__len__, or a loader factory whose result has len()")
