"""Suite-wide settings: tests run on the CPU with few threads (the machine has 2 cores),
and the shared fixtures of tests/support."""

from __future__ import annotations

import torch

# live_api and admin: the real API server and an admin client (tests/support/livefixtures.py).
pytest_plugins = ["livefixtures"]

torch.set_num_threads(2)
