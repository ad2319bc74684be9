"""Suite-wide settings: tests run on the CPU with few threads (the machine has 2 cores)."""

from __future__ import annotations

import torch

torch.set_num_threads(2)
