"""The pretrained flow: a model trained with plain PyTorch outside squeezelab is saved,
uploaded and compressed. Its baseline is evaluated, not trained, and scores exactly what the
user's own evaluation says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from liveapi import LiveApi
from sklearn.datasets import load_digits
from torch import nn

from client import Client
from workers.execute import RunExecutor
from workers.settings import WorkerSettings

pytestmark = pytest.mark.integration
FAST = {"latency": {"batch_sizes": [1], "warmup": 1, "repeats": 3, "runtimes": ["torch"]}}

# The user's task plug-in: their model and their split of their data.
USER_TASK = '''
import numpy as np
import torch
from torch import nn
from sklearn.datasets import load_digits
from compression.tasks import DataSplits, Task

def model():
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))

def data(seed):
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x / 16.0, dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.int64)
    return DataSplits(x[:1200], y[:1200], x[1200:1450], y[1200:1450], x[1450:], y[1450:])

task = Task(name="user-digits", description="the user's own", build_model=model,
            load_data=data)
'''


def train_outside(path: Path) -> float:
    """What the user did before squeezelab: train, evaluate, save the state dict."""
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x / 16.0, dtype=torch.float32)
    labels = torch.tensor(y, dtype=torch.int64)
    torch.manual_seed(123)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(15):
        for i in range(0, 1200, 50):
            loss = F.cross_entropy(model(x[i:i + 50]), labels[i:i + 50])
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = float(np.mean((model(x[1450:]).argmax(1) == labels[1450:]).numpy()))
    torch.save(model.state_dict(), path)
    return accuracy


def test_upload_then_compress_a_model_trained_elsewhere(
        live_api: LiveApi, admin: Client, tmp_path: Path) -> None:
    (tmp_path / "user_task.py").write_text(USER_TASK)
    own_accuracy = train_outside(tmp_path / "mine.pt")
    assert own_accuracy > 0.85
    uploaded = admin.upload_file(tmp_path / "mine.pt")
    created = admin.submit_sweep({
        "name": "pretrained", "task": f"{tmp_path}/user_task.py:task", "seeds": [0],
        "baseline": {"weights": uploaded.ref},
        "recipes": [{"name": "half", "prune": {"granularity": "unstructured"},
                     "schedule": {"kind": "one_shot", "final_sparsity": 0.5},
                     "finetune": {"epochs": 1, "optimizer": {"lr": 1e-4}}}],
        "measure": FAST})
    token = admin.create_token("worker", ["worker"]).token
    executor = RunExecutor(Client(live_api.url, token, timeout=10),
                           WorkerSettings(api_url=live_api.url, token=token,
                                          worker_dir=tmp_path / "w", delivery_deadline_s=10),
                           "w1@test")
    baseline, compress = sorted(admin.iter_runs(sweep_id=created.id), key=lambda r: r.id)
    assert baseline.config["baseline"]["epochs"] == 0
    assert executor.execute(baseline.id) == "succeeded"
    done = admin.get_run(baseline.id).summary
    assert done is not None and done.metric is not None
    assert done.metric.name == "accuracy"
    assert abs(done.metric.value - own_accuracy) <= 1e-6
    assert done.model_extra == {**(done.model_extra or {}),
                                "pretrained": {"weights": uploaded.ref}}
    assert admin.metric_keys(baseline.id) == []  # no epoch, no step: nothing was trained
    assert executor.execute(compress.id) == "succeeded"
    compressed = admin.get_run(compress.id).summary
    assert compressed is not None and compressed.metric is not None
    assert abs(compressed.metric.baseline - own_accuracy) <= 1e-6
    assert compressed.sparsity == pytest.approx(0.5, abs=1e-3)
    assert "train/loss" in admin.metric_keys(compress.id)
