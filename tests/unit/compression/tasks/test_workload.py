"""The workload: batches from tensors, datasets and loader factories; seeded and resumable;
evaluation, examples and calibration from real data; clear errors for broken tasks."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset, IterableDataset

from compression.checkpoint import TrainState
from compression.errors import TaskContractError, UnsupportedRecipeError
from compression.spec import LoaderSpec, MetricSpec, OptimizerSpec, TrainSpec
from compression.tasks import Task, TaskData, get_task
from compression.training import TrainConfig, train
from compression.workload import Workload

pytestmark = pytest.mark.unit


class Points(Dataset[dict[str, torch.Tensor]]):
    """Two Gaussian blobs, as dict samples (map-style: read one index at a time)."""

    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.y = torch.randint(0, 2, (n,), generator=g)
        self.x = torch.randn(n, 4, generator=g) + 2.0 * self.y[:, None]

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "labels": self.y[i]}


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 16)
        self.out = nn.Linear(16, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.fc(x)))


def points_task(**overrides: Any) -> Task:
    fields: dict[str, Any] = {
        "name": "points", "description": "two blobs", "build_model": Net,
        "load_data": lambda seed: TaskData(train=Points(200, seed), val=Points(50, seed + 1),
                                           test=Points(60, seed + 2)),
        "metrics": ("accuracy", "macro_f1", "loss")}
    return Task(**{**fields, **overrides})


def test_tensor_splits_keep_the_engines_permutation() -> None:
    task = get_task("digits-mlp")
    data = task.load_data(0)
    work = Workload(task)
    g = torch.Generator().manual_seed(3)
    first = next(iter(work.batches("train", batch_size=64, generator=g)))
    order = torch.randperm(len(data.y_train), generator=torch.Generator().manual_seed(3))
    assert torch.equal(first[0], data.x_train[order[:64]])
    assert torch.equal(work.example(64), data.x_test[:64])
    calibration = work.calibration(count=2, batch_size=16, seed=5)
    order = torch.randperm(len(data.y_train), generator=torch.Generator().manual_seed(5))
    assert torch.equal(calibration[1], data.x_train[order[16:32]])


def test_examples_are_real_samples_repeated_when_the_test_split_is_short() -> None:
    work = Workload(points_task(), loader=LoaderSpec(eval_batch_size=16))
    example = work.example(100)
    assert example["x"].shape == (100, 4)
    assert torch.equal(example["x"][:60], Points(60, 2).x)
    assert torch.equal(example["x"][60:], Points(60, 2).x[:40])


def test_dataloader_training_with_workers_resumes_bit_for_bit() -> None:
    task = points_task()
    work = Workload(task, loader=LoaderSpec(num_workers=2))
    spec = TrainSpec(epochs=2, batch_size=32, optimizer=OptimizerSpec(lr=1e-2))

    def fresh() -> nn.Module:
        torch.manual_seed(0)
        return task.build_model()

    whole = fresh()
    saved: list[TrainState] = []
    # A checkpoint holds live tensors: copy it when it is taken, as the worker's file does.
    train(whole, work, TrainConfig(spec, 2, seed=1), emit=lambda *a: None,
          checkpoint=lambda state: saved.append(copy.deepcopy(state)))
    resumed = fresh()
    resumed.load_state_dict(saved[0].model)
    train(resumed, work, TrainConfig(spec, 2, seed=1), emit=lambda *a: None, resume=saved[0])
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name
    scores = work.evaluate(whole)
    assert set(scores) == {"accuracy", "macro_f1", "loss"} and scores["accuracy"] > 0.8


def test_primary_metric_from_the_spec_or_the_task() -> None:
    assert Workload(points_task()).primary == "accuracy"
    assert Workload(points_task(primary_metric="loss")).goal == "min"
    picked = Workload(points_task(), metric=MetricSpec(name="macro_f1"))
    assert picked.primary == "macro_f1" and picked.goal == "max"
    with pytest.raises(UnsupportedRecipeError, match="does not compute 'perplexity'"):
        Workload(points_task(), metric=MetricSpec(name="perplexity"))
    with pytest.raises(UnsupportedRecipeError, match="task says max"):
        Workload(points_task(), metric=MetricSpec(name="accuracy", goal="min"))


class Stream(IterableDataset[tuple[torch.Tensor, torch.Tensor]]):
    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for _ in range(10):
            yield torch.zeros(4), torch.tensor(0)


def test_training_data_without_a_length_is_a_clear_error() -> None:
    task = points_task(load_data=lambda seed: TaskData(train=Stream(), val=Stream(),
                                                       test=Stream()))
    with pytest.raises(TaskContractError, match="has no length"):
        Workload(task).steps_per_epoch(TrainSpec())


def test_a_loader_factory_gets_the_batch_size_and_generator() -> None:
    seen: dict[str, Any] = {}

    def factory(*, batch_size: int, shuffle: bool, generator: torch.Generator,
                num_workers: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        seen.update(batch_size=batch_size, shuffle=shuffle, workers=num_workers)
        return [(torch.zeros(batch_size, 4), torch.zeros(batch_size, dtype=torch.long))] * 3

    task = points_task(load_data=lambda seed: TaskData(train=factory, val=factory, test=factory))
    work = Workload(task, loader=LoaderSpec(num_workers=3))
    assert work.steps_per_epoch(TrainSpec(batch_size=8, grad_accum=2)) == 2
    assert seen == {"batch_size": 8, "shuffle": True, "workers": 3}


def test_broken_tasks_fail_with_the_contract_in_the_message() -> None:
    empty = points_task(load_data=lambda seed: TaskData(train=Points(10, 0), val=Points(0, 0),
                                                        test=Points(0, 0)))
    with pytest.raises(TaskContractError, match="split of task 'points' is empty"):
        Workload(empty).evaluate(Net(), "val")
    with pytest.raises(TaskContractError, match="TaskData"):
        Workload(points_task(load_data=lambda seed: [1, 2, 3]))
