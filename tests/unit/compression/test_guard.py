"""The result guard: chance levels, failures that keep their figures, and warnings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from compression.guard import chance_metrics, judge, sparsity_warnings
from compression.runner import RunResult, execute_run, recovery_warning
from compression.schedules import SchedulePlan
from compression.spec import GuardSpec, PrimaryMetric, expand, parse_spec
from compression.tasks import DataSplits, Task, get_task
from compression.workload import Workload

pytestmark = pytest.mark.unit
FAST = {"latency": {"batch_sizes": [1], "warmup": 1, "repeats": 3, "runtimes": ["torch"]}}


def sweep(*recipes: dict[str, Any], **extra: Any) -> list[Any]:
    return expand(parse_spec({"name": "g", "task": "digits-mlp", "seeds": [0],
                              "baseline": {"epochs": 3, "optimizer": {"lr": 3e-3}},
                              "recipes": list(recipes), "measure": FAST, **extra}))


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return execute_run(sweep()[0], workdir=tmp_path_factory.mktemp("base"),
                       emit=lambda *a: None)


def test_chance_is_the_best_input_free_predictor() -> None:
    """Accuracy's chance is the majority class's share; macro F1's is a random guess's."""
    targets = torch.tensor([0] * 60 + [1] * 30 + [2] * 10)
    x = torch.randn(100, 4)
    task = Task(name="skewed", description="", build_model=lambda: nn.Linear(4, 3),
                load_data=lambda seed: DataSplits(x, targets, x, targets, x, targets),
                metrics=["accuracy", "macro_f1", "perplexity"])
    chance = chance_metrics(Workload(task), nn.Linear(4, 3))
    assert chance is not None
    assert chance["accuracy"] == pytest.approx(0.6)
    assert 0.2 < chance["macro_f1"] < 0.45  # a majority guess scores 0.25; random ~0.3
    # Unigram perplexity: exp of the class prior's entropy.
    p = torch.tensor([0.6, 0.3, 0.1])
    assert chance["perplexity"] == pytest.approx(float(torch.exp(-(p * p.log()).sum())),
                                                 rel=1e-3)


def test_no_chance_level_for_targets_that_are_not_classes() -> None:
    x, y = torch.randn(20, 4), torch.randn(20, 1)
    task = Task(name="reg", description="", build_model=lambda: nn.Linear(4, 1),
                load_data=lambda seed: DataSplits(x, y, x, y, x, y), metrics=["loss"],
                loss=lambda out, t: ((out - t) ** 2).mean())
    assert chance_metrics(Workload(task), nn.Linear(4, 1)) is None


def metric(value: float, baseline: float = 0.9) -> PrimaryMetric:
    return PrimaryMetric.of("accuracy", "max", value, baseline)


def test_judge_fails_a_model_at_chance_and_beyond_the_tolerated_drop() -> None:
    guard = GuardSpec(fail_if_drop=0.05)
    assert judge(metric(0.88), 0.25, guard) == ([], None)
    _, failure = judge(metric(0.26), 0.25, guard)
    assert failure is not None and "chance level (0.25" in failure
    _, failure = judge(metric(0.80), 0.25, guard)
    assert failure is not None and "more than guard.fail_if_drop 0.05" in failure
    # at_chance off: only the drop rule is left.
    assert judge(metric(0.26), 0.25, GuardSpec(at_chance=False))[1] is None
    # Perplexity: lower is better; at chance means no better than the unigram model.
    ppl = PrimaryMetric.of("perplexity", "min", 48.0, 12.0)
    assert "chance level" in (judge(ppl, 50.0, GuardSpec())[1] or "")


def test_a_baseline_at_chance_is_warned_about_not_failed() -> None:
    warnings, failure = judge(metric(0.25, baseline=0.25), 0.25, None)
    assert failure is None and "no better than chance" in warnings[0]


def test_a_run_beyond_the_tolerated_drop_fails_and_keeps_its_figures(
        baseline: RunResult, tmp_path: Path) -> None:
    recipe = {"name": "hard", "prune": {"granularity": "unstructured"},
              "schedule": {"kind": "one_shot", "final_sparsity": 0.8}}
    config = sweep(recipe, guard={"fail_if_drop": 0.001})[1]
    result = execute_run(config, workdir=tmp_path, baseline_weights=baseline.weights,
                         emit=lambda *a: None)
    s = result.summary
    assert s.failure is not None and "guard.fail_if_drop" in s.failure
    assert s.metric is not None and s.metric.drop > 0.001
    assert s.chance is not None and 0.05 < s.chance < 0.2  # ten balanced digits
    assert result.weights.exists()  # the files stay for inspection


def test_a_collapsed_model_fails_at_chance(baseline: RunResult, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A test double of a compression that destroys the model (every weight zeroed): the
    run reports no success, whatever the rest of its figures."""
    import compression.runner

    real = compression.runner.compress_model

    def destroy(*args: Any, **kwargs: Any) -> tuple[nn.Module, dict[str, Any]]:
        model, extra = real(*args, **kwargs)
        with torch.no_grad():
            for p in model.parameters():
                p.zero_()
        return model, extra

    monkeypatch.setattr(compression.runner, "compress_model", destroy)
    recipe = {"name": "r", "prune": {"granularity": "unstructured"},
              "schedule": {"kind": "one_shot", "final_sparsity": 0.5}}
    result = execute_run(sweep(recipe)[1], workdir=tmp_path,
                         baseline_weights=baseline.weights, emit=lambda *a: None)
    assert result.summary.failure is not None
    assert "chance level" in result.summary.failure
    assert result.summary.to_json()["failure"] == result.summary.failure


def test_baselines_are_not_failed_by_the_guard(baseline: RunResult) -> None:
    s = baseline.summary
    assert s.failure is None and s.warnings is None
    assert s.chance is not None and s.metric is not None and s.metric.value > s.chance


def test_global_pruning_keeps_the_classifier_dense_and_warns_about_empty_layers(
        baseline: RunResult, tmp_path: Path) -> None:
    recipe = {"name": "glob", "prune": {"granularity": "unstructured", "scope": "global"},
              "schedule": {"kind": "one_shot", "final_sparsity": 0.9},
              "finetune": {"epochs": 1}}
    result = execute_run(sweep(recipe)[1], workdir=tmp_path,
                         baseline_weights=baseline.weights, emit=lambda *a: None)
    s = result.summary.to_json()
    classifier = get_task("digits-mlp").classifier or "classifier"
    assert s["layer_sparsity"][classifier] == 0.0
    assert s["pruning"]["dense_layers"] == [classifier]
    assert s["pruning"]["achieved"] == pytest.approx(0.9, abs=1e-3)


def test_sparsity_warnings_name_layers_pruned_almost_empty() -> None:
    warnings = sparsity_warnings({"a": 0.5, "b": 0.995, "c": 0.999}, dense_layers=["c"])
    assert len(warnings) == 1 and "'b' ended 99.5% sparse" in warnings[0]


def test_a_schedule_ending_on_the_last_step_is_warned_about() -> None:
    late = SchedulePlan(total_epochs=2, steps_per_epoch=10, events=((0, 0.0), (20, 0.9)))
    warning = recovery_warning(late)
    assert warning is not None and "leaves 0 optimizer step(s)" in warning
    early = SchedulePlan(total_epochs=2, steps_per_epoch=10, events=((0, 0.0), (10, 0.9)))
    assert recovery_warning(early) is None
    no_training = SchedulePlan(total_epochs=0, steps_per_epoch=10, events=((0, 0.5),))
    assert recovery_warning(no_training) is None


def test_the_late_schedule_warning_reaches_the_summary(baseline: RunResult,
                                                       tmp_path: Path) -> None:
    recipe = {"name": "late", "prune": {"granularity": "unstructured"},
              "schedule": {"kind": "agp", "final_sparsity": 0.8, "end_epoch": 1,
                           "frequency": 5},
              "finetune": {"epochs": 1}}
    result = execute_run(sweep(recipe)[1], workdir=tmp_path,
                         baseline_weights=baseline.weights, emit=lambda *a: None)
    assert any("to recover" in w for w in result.summary.warnings or [])


def test_a_prune_without_training_still_ends_its_curves_on_the_final_model(
        baseline: RunResult, tmp_path: Path) -> None:
    recipe = {"name": "os", "prune": {"granularity": "unstructured"},
              "schedule": {"kind": "one_shot", "final_sparsity": 0.5}}
    points: list[tuple[str, int, float]] = []
    result = execute_run(sweep(recipe)[1], workdir=tmp_path, baseline_weights=baseline.weights,
                         emit=lambda k, s, v: points.append((k, s, v)))
    assert ("sparsity/actual", 0, pytest.approx(0.5, abs=1e-3)) in points
    (val,) = [(s, v) for k, s, v in points if k == "val/accuracy"]
    assert val[0] == 0
    assert result.summary.warnings is None  # no training was asked for: nothing to recover


def test_a_model_that_no_longer_runs_names_the_layer() -> None:
    from compression.errors import InvalidResultError
    from compression.verify import verify_runs

    work = Workload(get_task("digits-mlp"))
    model = get_task("digits-mlp").build_model()
    with torch.no_grad():  # a botched structural change: fc2 now takes 299 inputs
        model.fc2.weight = nn.Parameter(model.fc2.weight[:, :299].clone())
    with pytest.raises(InvalidResultError, match=r"after a test change in 'fc2' \(Linear\): "
                                                 r"RuntimeError: mat1 and mat2"):
        verify_runs(model, work, "a test change")
    # The hooks are gone, and the model keeps its mode.
    assert not model.fc2._forward_pre_hooks and model.training
