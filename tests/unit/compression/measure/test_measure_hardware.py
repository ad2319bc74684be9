"""The hardware fingerprint names the machine and the library versions."""

from __future__ import annotations

import json
import os

import onnxruntime
import pytest
import torch

from compression.measure.hardware import hardware_fingerprint

pytestmark = pytest.mark.unit


def test_fingerprint() -> None:
    info = hardware_fingerprint(3)
    assert {"cpu", "cores", "gpu", "threads", "torch", "onnxruntime", "python", "platform"} <= set(
        info
    )
    assert isinstance(info["cpu"], str) and info["cpu"]
    assert info["cores"] == os.cpu_count()
    assert info["threads"] == 3
    assert info["torch"] == torch.__version__
    assert info["onnxruntime"] == onnxruntime.__version__
    assert info["gpu"] is None or isinstance(info["gpu"], str)
    json.dumps(info)  # goes into a JSON summary as it is
