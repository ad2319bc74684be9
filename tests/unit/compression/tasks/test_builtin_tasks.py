"""Built-in tasks: shapes, deterministic splits, entry points, unknown names."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
import torch

from compression.errors import UnknownTaskError
from compression.tasks import ENTRY_POINT_GROUP, get_task, list_tasks

pytestmark = pytest.mark.unit
BUILTINS = ["digits-cnn", "digits-mlp", "mnist1d-cnn"]


def test_builtins_are_registered_and_published_as_entry_points() -> None:
    assert [t.name for t in list_tasks()][:3] == BUILTINS or set(BUILTINS) <= {
        t.name for t in list_tasks()}
    published = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert set(BUILTINS) <= published


def test_unknown_task_lists_the_known_ones() -> None:
    with pytest.raises(UnknownTaskError, match="digits-mlp"):
        get_task("imagenet-resnet50")


@pytest.mark.parametrize("name", BUILTINS)
def test_model_accepts_the_data_and_has_a_classifier(name: str) -> None:
    task = get_task(name)
    data = task.load_data(0)
    assert data.x_train.shape[1:] == task.input_shape
    assert data.x_train.dtype == torch.float32 and data.y_train.dtype == torch.int64
    model = task.build_model()
    logits = model(data.x_val[:5])
    assert logits.shape == (5, task.num_classes)
    assert dict(model.named_modules())[task.classifier].out_features == task.num_classes
    splits = [len(data.y_train), len(data.y_val), len(data.y_test)]
    assert min(splits) > 100
    assert set(data.y_test.tolist()) == set(range(task.num_classes))


@pytest.mark.parametrize("name", BUILTINS)
def test_splits_are_deterministic_and_disjoint(name: str) -> None:
    task = get_task(name)
    a, b = task.load_data(0), task.load_data(0)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    other = task.load_data(1)
    assert not torch.equal(a.x_val, other.x_val)
    # No sample of the test set leaks into training.
    train_rows = {tuple(r) for r in a.x_train.flatten(1).tolist()}
    assert not any(tuple(r) in train_rows for r in a.x_test.flatten(1).tolist())


def test_a_broken_entry_point_is_reported_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    from compression.tasks import registry

    broken = EntryPoint(name="broken-plugin", value="no_such_module_anywhere:task",
                        group=ENTRY_POINT_GROUP)
    wrong = EntryPoint(name="not-a-task", value="compression.tasks.models:DigitsMLP",
                       group=ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [broken, wrong])
    monkeypatch.setattr(registry, "_broken", {})
    registry._load_entry_points.cache_clear()
    try:
        found = registry.broken_entry_points()
    finally:
        registry._load_entry_points.cache_clear()
    assert "no_such_module_anywhere" in found["broken-plugin"]
    assert "not a Task" in found["not-a-task"]
    assert {t.name for t in registry.list_tasks()} >= set(BUILTINS)
