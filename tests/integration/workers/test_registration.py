"""A worker registers with the API, saying which squeezelab and torch it runs."""

from __future__ import annotations

import pytest
import torch
from polling import wait_for

from client import Client
from compression.spec.versions import squeezelab_version
from workers.main import Registration

pytestmark = pytest.mark.integration


def test_registration_reports_the_versions(admin: Client) -> None:
    registration = Registration(admin, "cpu-7@box", ["cpu"], interval_s=0.05)
    registration.start()
    try:
        worker = wait_for(lambda: next(iter(admin.list_workers()), None), timeout=30,
                          what="the worker's registration")
    finally:
        registration.stop()
    assert worker.id == "cpu-7@box" and worker.queues == ["cpu"]
    assert worker.version == squeezelab_version()
    assert worker.torch_version == torch.__version__
    assert worker.hardware["torch"] == torch.__version__ and "digits-mlp" in worker.tasks
