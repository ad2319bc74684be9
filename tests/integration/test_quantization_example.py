"""examples/digits-quant.yaml, shortened, end to end: every recipe runs and reports honestly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from compression.local import run_local_sweep
from compression.spec import parse_spec

pytestmark = [pytest.mark.integration, pytest.mark.slow]
EXAMPLE = Path(__file__).parents[2] / "examples" / "digits-quant.yaml"


def _shortened() -> dict[str, Any]:
    spec = yaml.safe_load(EXAMPLE.read_text())
    spec["seeds"] = [0]
    spec["baseline"]["epochs"] = 5
    for recipe in spec["recipes"]:
        if "schedule" in recipe:
            recipe["schedule"]["end_epoch"] = 2
        if "finetune" in recipe:
            recipe["finetune"]["epochs"] = 2
    spec["measure"]["latency"].update(warmup=2, repeats=5)
    return spec


def test_example_recipes_run_quantize_and_measure(tmp_path: Path) -> None:
    result = run_local_sweep(parse_spec(_shortened()), workdir=tmp_path)
    runs = {r["name"].split("@")[0]: r for r in result["runs"]}
    assert set(runs) == {"baseline", "int8-dynamic", "int8-static", "int8-qat", "agp90-int8",
                         "agp90-distill"}
    assert all(r["status"] == "succeeded" for r in runs.values()), [
        r["error"] for r in runs.values()]
    modes = {}
    for name in ("int8-dynamic", "int8-static", "int8-qat", "agp90-int8"):
        s = runs[name]["summary"]
        modes[name] = s["quantization"]["mode"]
        assert s["quantization"]["runtime"] == "onnxruntime"
        assert s["size_bytes"]["stored"] <= 0.30 * s["size_bytes"]["dense_fp32"]
        # int8 loses little against the fp32 model it was made from (the shortened pruning
        # schedule itself costs accuracy, which is not quantization's doing).
        assert abs(s["accuracy"] - s["quantization"]["fp32_accuracy"]) < 0.03
        assert set(s["quantization"]["verdict"]) == {"torch", "onnxruntime"}
        assert Path(runs[name]["artifacts"][0]).suffix == ".onnx"
    assert modes == {"int8-dynamic": "ptq_dynamic", "int8-static": "ptq_static",
                     "int8-qat": "qat", "agp90-int8": "ptq_static"}
    pruned = runs["agp90-int8"]["summary"]
    # Global scope keeps the classifier dense: 90% of the other layers' weights are zero.
    assert pruned["pruning"]["achieved"] >= 0.89 and pruned["sparsity"] >= 0.87
    assert pruned["quantization"]["int8_weight_zero_fraction"] >= 0.87
    distilled = runs["agp90-distill"]["summary"]
    assert "quantization" not in distilled and distilled["pruning"]["achieved"] >= 0.89
