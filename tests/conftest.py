"""Suite-wide settings: tests run on the CPU with few threads (the machine has 2 cores),
and the shared fixtures of tests/support."""

from __future__ import annotations

import torch

# live_api and admin: the real API server and an admin client (tests/support/livefixtures.py).
pytest_plugins = ["livefixtures"]

torch.set_num_threads(2)


def pytest_collection_modifyitems(config: object, items: list[object]) -> None:
    """``gpu``-marked tests run where CUDA is; elsewhere they are skipped, saying why."""
    import pytest

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (run on a GPU machine)")
    for item in items:
        if "gpu" in item.keywords:  # type: ignore[attr-defined]
            item.add_marker(skip)  # type: ignore[attr-defined]
