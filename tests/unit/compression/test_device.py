"""Devices: a run asking for CUDA where there is none fails clearly, and is retried elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from compression.device import NoDeviceError, resolve_device, supports_semi_structured
from compression.runner import execute_run
from compression.spec import expand, parse_spec
from compression.training import autocast_dtype
from workers.failures import is_retryable

pytestmark = pytest.mark.unit
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")


def test_cpu_is_the_cpu() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert not supports_semi_structured(torch.device("cpu"))


@no_cuda
def test_a_cuda_run_without_cuda_fails_clearly_and_is_retryable(tmp_path: Path) -> None:
    (config,) = expand(parse_spec({"name": "g", "task": "digits-mlp", "device": "cuda",
                                   "baseline": {"epochs": 1}}))
    with pytest.raises(NoDeviceError, match="no usable CUDA device") as caught:
        execute_run(config, workdir=tmp_path, emit=lambda *a: None)
    assert is_retryable(caught.value)  # a gpu-queue worker can run it


def test_auto_precision_is_fp32_on_cpus() -> None:
    assert autocast_dtype("auto", torch.device("cpu")) is None
    assert autocast_dtype("bf16", torch.device("cpu")) == torch.bfloat16
