"""The transformer examples run every recipe kind to the end through ``squeezelab local``:
a BERT-style classifier (dict of int64 inputs with an attention mask, ``.logits`` out,
macro-F1 primary) and a ViT (``pixel_values`` in). Shrunk: fewer samples and epochs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from shrink import shrunk_example
from typer.testing import CliRunner

from compression.spec import RunSummary
from squeezelab.cli import app

pytestmark = [pytest.mark.integration, pytest.mark.slow]
KINDS = {"agp", "head-channels", "two-of-four", "int8-dynamic", "int8-static",
         "int8-qat", "distilled", "sensitivity"}


def run_local(spec: Path, tmp_path: Path) -> dict[str, RunSummary]:
    out = tmp_path / "results.json"
    result = CliRunner().invoke(app, ["local", str(spec), "--out", str(out), "--workdir",
                                      str(tmp_path / "work")], env={"COLUMNS": "200"})
    runs = json.loads(out.read_text())["runs"]
    failed = {r["name"]: r["error"] for r in runs if r["status"] != "succeeded"}
    assert result.exit_code == 0 and not failed, (failed, result.output[-3000:])
    return {r["name"].split("@")[0]: RunSummary.model_validate(r["summary"]) for r in runs}


def test_bert_classifier_runs_every_recipe_with_macro_f1(tmp_path: Path) -> None:
    spec = shrunk_example("bert-textcls.yaml", tmp_path,
                          kwargs={"train": 640, "val": 128, "test": 256, "seq_len": 24})
    summaries = run_local(spec, tmp_path)
    assert set(summaries) - {"baseline"} <= KINDS and len(summaries) == 9
    base = summaries["baseline"].metric
    assert base is not None and base.name == "macro_f1" and base.goal == "max"
    assert base.value > 0.5  # it learned the keywords (4 classes: chance is ~0.25)
    for name, summary in summaries.items():
        assert summary.metric is not None and summary.metric.name == "macro_f1", name
        assert summary.metrics is not None and set(summary.metrics) == {"macro_f1", "accuracy"}
        assert summary.metric.baseline == base.value, name
    # int8 keeps the attention mask in float: no chance-level "success".
    for name in ("int8-static", "int8-qat", "int8-dynamic"):
        assert summaries[name].metric.value > base.value - 0.1, name  # type: ignore[union-attr]
    assert summaries["two-of-four"].sparsity is not None and summaries["two-of-four"].sparsity > 0.4
    assert summaries["head-channels"].params_total < summaries["baseline"].params_total  # type: ignore[operator]


def test_vit_runs_every_recipe(tmp_path: Path) -> None:
    summaries = run_local(shrunk_example("vit-digits.yaml", tmp_path), tmp_path)
    assert len(summaries) == 9
    base = summaries["baseline"]
    assert base.metric is not None and base.metric.name == "accuracy" and base.accuracy
    assert base.metric.value > 0.3  # 10 classes: chance is 0.1
    assert summaries["head-channels"].params_total < base.params_total  # type: ignore[operator]
    assert summaries["int8-static"].metric.value > base.metric.value - 0.1  # type: ignore[union-attr]


def test_channel_pruning_into_attention_removes_whole_heads_and_reloads(tmp_path: Path) -> None:
    """Channel pruning without excluding attention removes whole heads, the same number in
    every layer, with the residual width: the run writes config.json beside its weights and
    ``from_pretrained`` rebuilds the pruned model from that directory."""
    spec = yaml.safe_load(shrunk_example(
        "bert-textcls.yaml", tmp_path, kwargs={"train": 128, "val": 32, "test": 32}).read_text())
    spec["recipes"] = [{"name": "all-channels", "prune": {"granularity": "channel"},
                        "schedule": {"kind": "one_shot", "final_sparsity": 0.5},
                        "finetune": {"epochs": 1, "batch_size": 32}}]
    spec["baseline"]["epochs"] = 1
    path = tmp_path / "attention.yaml"
    path.write_text(yaml.safe_dump(spec))
    summaries = run_local(path, tmp_path)
    pruning = (summaries["all-channels"].model_extra or {}).get("pruning")
    assert pruning is not None and pruning["achieved"] == pytest.approx(0.5)
    transformers = pytest.importorskip("transformers")
    configs = {json.loads(p.read_text())["hidden_size"]: p.parent
               for p in (tmp_path / "work").glob("*/config.json")}
    assert sorted(configs) == [16, 32]  # the pruned run's and the baseline's
    model = transformers.AutoModelForSequenceClassification.from_pretrained(configs[16])
    assert model.config.num_attention_heads == 1 and model.config.intermediate_size == 32
