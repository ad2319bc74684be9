"""Inputs for the measurement functions in tests."""

from __future__ import annotations

from collections.abc import Callable

import torch


def random_examples(*shape: int) -> Callable[[int], torch.Tensor]:
    """``examples`` for the measurement functions: batch size -> fixed random inputs."""

    def examples(batch: int) -> torch.Tensor:
        return torch.randn((batch, *shape), generator=torch.Generator().manual_seed(0))

    return examples
