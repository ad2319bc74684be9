"""The runner: one run config in, a measured summary and artifacts out; typed user errors."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import torch

from compression.errors import CompressionError, UnknownTaskError
from compression.measure import load_state
from compression.runner import RunResult, compress_model, execute_run, planned_steps
from compression.spec import RunConfig, expand, parse_spec
from compression.spec.versions import squeezelab_version
from compression.tasks import get_task
from compression.workload import Workload

pytestmark = pytest.mark.unit
FAST_LATENCY = {"batch_sizes": [1, 8], "warmup": 1, "repeats": 3, "runtimes": ["torch"]}


def configs(*recipes: dict[str, Any], task: str = "digits-mlp") -> list[RunConfig]:
    return expand(parse_spec({
        "name": "t", "task": task, "seeds": [0],
        "baseline": {"epochs": 3, "optimizer": {"lr": 3e-3}},
        "recipes": list(recipes), "measure": {"latency": FAST_LATENCY},
    }))


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    config = configs()[0]
    points: list[tuple[str, int, float]] = []
    result = execute_run(config, workdir=tmp_path_factory.mktemp("base"),
                         emit=lambda k, s, v: points.append((k, s, v)))
    assert len([p for p in points if p[0] == "train/loss"]) == planned_steps(config)
    return result


def test_baseline_trains_measures_and_saves(baseline: RunResult) -> None:
    s = baseline.summary.to_json()
    assert s["accuracy"] > 0.85 and s["accuracy_drop"] == 0.0
    assert s["sparsity"] == 0.0 and s["params_nonzero"] == s["params_total"]
    assert s["speedup"]["torch"] == {"1": 1.0, "8": 1.0}
    state = load_state(baseline.weights)
    assert state["fc1.weight"].shape == (300, 64)


def test_the_summary_records_the_versions_that_produced_it(baseline: RunResult) -> None:
    versions = baseline.summary.to_json()["versions"]
    assert versions["squeezelab"] == squeezelab_version()
    assert versions["torch"] == torch.__version__
    assert versions["transformers"] == metadata.version("transformers")  # a dev dependency


def test_one_shot_prune_keeps_masked_weights_zero_through_fine_tuning(
        baseline: RunResult, tmp_path: Path) -> None:
    config = configs({"name": "os", "prune": {"granularity": "unstructured", "scope": "layer"},
                      "schedule": {"kind": "one_shot", "final_sparsity": 0.8},
                      "finetune": {"epochs": 2, "optimizer": {"name": "adam", "lr": 1e-3}}})[1]
    points: list[tuple[str, int, float]] = []
    result = execute_run(config, workdir=tmp_path, baseline_weights=baseline.weights,
                         emit=lambda k, s, v: points.append((k, s, v)))
    actual = [v for k, _, v in points if k == "sparsity/actual"]
    assert actual and all(v == pytest.approx(0.8, abs=1e-3) for v in actual)
    assert result.summary.to_json()["sparsity"] == pytest.approx(0.8, abs=1e-3)
    assert result.summary.to_json()["pruning"]["achieved"] == pytest.approx(0.8, abs=1e-3)
    weights = load_state(result.weights)["fc1.weight"]
    assert float((weights == 0).float().mean()) == pytest.approx(0.8, abs=1e-3)


def test_distillation_changes_the_student(baseline: RunResult) -> None:
    recipe = {"name": "r", "prune": {"granularity": "unstructured"},
              "schedule": {"kind": "one_shot", "final_sparsity": 0.9},
              "finetune": {"epochs": 2}}
    plain = configs(recipe)[1]
    distilled = configs({**recipe, "distill": {"temperature": 4.0, "alpha": 0.9}})[1]
    task = get_task("digits-mlp")
    work = Workload(task)
    dense = task.build_model()
    from compression.measure import load_into

    load_into(dense, load_state(baseline.weights))
    models = []
    for config in (plain, distilled):
        assert config.recipe is not None
        model, _ = compress_model(config, config.recipe, work, dense, emit=lambda *a: None)
        models.append(model.state_dict()["fc2.weight"])
    assert not torch.allclose(models[0], models[1])


def test_user_errors_are_typed(baseline: RunResult, tmp_path: Path) -> None:
    unknown = configs()[0].model_copy(update={"task": "no-such-task"})
    with pytest.raises(UnknownTaskError):
        execute_run(unknown, workdir=tmp_path, emit=lambda *a: None)
    prune = configs({"name": "p", "prune": {}, "schedule": {"final_sparsity": 0.5}})[1]
    with pytest.raises(CompressionError, match="baseline"):
        execute_run(prune, workdir=tmp_path, emit=lambda *a: None)


def test_a_task_whose_code_raises_fails_with_where_it_raised(tmp_path: Path) -> None:
    source = tmp_path / "broken_task.py"
    source.write_text("from compression.tasks import Task, get_task\n"
                      "def model():\n"
                      "    return [1, 2][5]\n"
                      "task = Task(name='broken', description='', build_model=model,\n"
                      "            load_data=get_task('digits-mlp').load_data)\n")
    config = configs()[0].model_copy(update={"task": f"{source}:task"})
    with pytest.raises(CompressionError, match=r"build_model raised IndexError: .* "
                                               r"\(broken_task\.py:3\)"):
        execute_run(config, workdir=tmp_path / "run", emit=lambda *a: None)


def test_the_last_validation_point_is_the_model_reported(baseline: RunResult,
                                                         tmp_path: Path) -> None:
    """AGP whose last pruning step falls after the last optimizer step: that step is taken
    before the last validation, so the curve ends on the final model, not on a model that
    was pruned again afterwards."""
    recipe = {"name": "late", "prune": {"granularity": "unstructured", "scope": "global"},
              "schedule": {"kind": "agp", "final_sparsity": 0.9, "end_epoch": 1,
                           "frequency": 5},
              "finetune": {"epochs": 1}}
    config = configs(recipe)[1]
    assert config.recipe is not None
    task = get_task("digits-mlp")
    work = Workload(task)
    dense = task.build_model()
    from compression.measure import load_into

    load_into(dense, load_state(baseline.weights))
    points: list[tuple[str, int, float]] = []
    model, _ = compress_model(config, config.recipe, work, dense,
                              emit=lambda k, s, v: points.append((k, s, v)))
    last_step, last_value = [(s, v) for k, s, v in points if k == "val/accuracy"][-1]
    assert last_value == work.score(model, "val")
    targets = [(s, v) for k, s, v in points if k == "sparsity/target"]
    assert targets[-1] == (last_step, 0.9)
    actual = [s for k, s, _ in points if k == "sparsity/actual"]
    assert len(actual) == len(set(actual))  # one value per step
