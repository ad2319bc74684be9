"""Inline task sources: Python references (modules and files), Hugging Face classes, image
folders, Task objects by reference; each failure names what is missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from compression.errors import TaskContractError
from compression.spec import parse_spec
from compression.tasks import resolve_task
from compression.tasks.check import check_task
from compression.tasks.sources import TaskSourceError
from compression.workload import Workload

pytestmark = pytest.mark.unit
EXAMPLES = Path(__file__).parents[4] / "examples"


def inline(task: dict[str, object]) -> object:
    return parse_spec({"name": "s", "task": task}).task


def test_a_model_and_data_from_a_python_file(tmp_path: Path) -> None:
    source = tmp_path / "mytask.py"
    source.write_text(
        "import torch\n"
        "from torch import nn\n"
        "from compression.tasks import DataSplits\n"
        "def model(width):\n"
        "    return nn.Sequential(nn.Linear(3, width), nn.ReLU(), nn.Linear(width, 2))\n"
        "def data(seed, n):\n"
        "    g = torch.Generator().manual_seed(seed)\n"
        "    x = torch.randn(n, 3, generator=g)\n"
        "    y = (x[:, 0] > 0).long()\n"
        "    return DataSplits(x, y, x[:10], y[:10], x[10:20], y[10:20])\n")
    spec = inline({"name": "file-task",
                   "model": {"python": f"{source}:model", "kwargs": {"width": 8}},
                   "data": {"python": f"{source}:data", "kwargs": {"n": 50}},
                   "metrics": ["macro_f1", "accuracy"]})
    task = resolve_task(spec)  # type: ignore[arg-type]
    assert task.name == "file-task" and list(task.metrics) == ["macro_f1", "accuracy"]
    report = check_task(task)
    assert report.ok, report.detail
    assert report.primary == "macro_f1" and report.params == 3 * 8 + 8 + 8 * 2 + 2
    assert Workload(task).data.train is not None


def test_a_model_from_an_installed_module() -> None:
    spec = inline({"name": "m", "model": {"python": "compression.tasks.models:DigitsMLP"},
                   "data": {"python": "compression.tasks.datasets:mnist1d"}})
    assert type(resolve_task(spec).build_model()).__name__ == "DigitsMLP"  # type: ignore[arg-type]


@pytest.mark.parametrize(("model", "message"), [
    ({"python": "no_such_module_here:build"}, "cannot import 'no_such_module_here'"),
    ({"python": "compression.tasks.models:Nope"}, "has no attribute 'Nope'"),
    ({"python": "missing/file.py:build"}, "no file missing/file.py on this worker"),
    ({"hf": "NoSuchModelClass", "config": {}}, "transformers has no model class"),
    ({"hf": "AutoModelForSequenceClassification", "config": {"num_labels": 2}},
     "needs config.model_type"),
    ({"hf": "BertForSequenceClassification", "pretrained": "/no/such/dir"}, "no directory"),
])
def test_sources_that_do_not_resolve_say_why(model: dict[str, object], message: str) -> None:
    spec = inline({"name": "broken", "model": model,
                   "data": {"python": "compression.tasks.datasets:mnist1d"}})
    with pytest.raises(TaskSourceError, match=message):
        resolve_task(spec).build_model()  # type: ignore[arg-type]


def test_a_model_factory_must_return_a_module() -> None:
    spec = inline({"name": "x", "model": {"python": "builtins:dict"},
                   "data": {"python": "compression.tasks.datasets:mnist1d"}})
    report = check_task(resolve_task(spec))  # type: ignore[arg-type]
    assert not report.ok and "not a torch.nn.Module" in report.detail


def test_hugging_face_from_config_and_from_a_saved_directory(tmp_path: Path) -> None:
    config = {"model_type": "bert", "vocab_size": 50, "hidden_size": 16,
              "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32,
              "max_position_embeddings": 32, "num_labels": 3}
    data = {"python": f"{EXAMPLES}/tasks/synthetic_text.py:splits",
            "kwargs": {"train": 64, "val": 16, "test": 16, "vocab": 50, "classes": 3}}
    task = resolve_task(inline({"name": "bert", "data": data, "metrics": ["macro_f1"],  # type: ignore[arg-type]
                                "model": {"hf": "AutoModelForSequenceClassification",
                                          "config": config}}))
    report = check_task(task)
    assert report.ok, report.detail
    assert "input_ids int64" in report.inputs and report.logits.endswith("3)")
    torch.manual_seed(0)
    model = task.build_model()
    model.save_pretrained(tmp_path / "saved")  # type: ignore[operator]
    again = resolve_task(inline({"name": "bert2", "data": data,  # type: ignore[arg-type]
                                 "model": {"hf": "BertForSequenceClassification",
                                           "pretrained": str(tmp_path / "saved")}}))
    loaded = again.build_model()
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name


def _png(path: Path, value: int, size: tuple[int, int] = (12, 10)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), value, dtype=np.uint8)).save(path)


def test_an_image_folder_streams_decoded_resized_images(tmp_path: Path) -> None:
    for split, count in (("train", 10), ("test", 3)):
        for label, name in enumerate(("cat", "dog")):
            for i in range(count):
                _png(tmp_path / split / name / f"{i}.png", 40 * label + i)
    (tmp_path / "train" / "cat" / "notes.txt").write_text("not an image")
    spec = inline({"name": "folder", "model": {"python": "compression.tasks.models:DigitsMLP"},
                   "data": {"image_folder": str(tmp_path), "size": [8, 6], "channels": 1,
                            "val_fraction": 0.2, "mean": [0.5], "std": [0.25]}})
    work = Workload(resolve_task(spec))  # type: ignore[arg-type]
    train, val, test = work.data.train, work.data.val, work.data.test
    assert (len(train), len(val), len(test)) == (16, 4, 6)  # type: ignore[arg-type]
    x, label = test[0]  # type: ignore[index]
    assert x.shape == (1, 8, 6) and label == 0  # size is [height, width]
    assert float(x.mean()) == pytest.approx((0 / 255 - 0.5) / 0.25, abs=1e-6)
    batch = next(iter(work.batches("test", batch_size=4)))
    assert batch[0].shape == (4, 1, 8, 6) and batch[1].tolist() == [0, 0, 0, 1]


def test_an_image_folder_without_test_images_says_so(tmp_path: Path) -> None:
    _png(tmp_path / "train" / "a" / "0.png", 1)
    spec = inline({"name": "folder", "model": {"python": "compression.tasks.models:DigitsMLP"},
                   "data": {"image_folder": str(tmp_path)}})
    with pytest.raises(TaskContractError, match="no test/ directory"):
        Workload(resolve_task(spec))  # type: ignore[arg-type]


def test_a_task_object_by_python_reference() -> None:
    task = resolve_task(f"{EXAMPLES}/tasks/tabular_plugin.py:task")
    assert task.name == "breast-cancer-mlp"
    report = check_task(task)
    assert report.ok and report.primary == "macro_f1" and report.inputs.startswith("features")
    with pytest.raises(TaskSourceError, match=r"not a compression\.tasks\.Task"):
        resolve_task("compression.tasks.models:DigitsMLP")
