"""Gates over hand-built run summaries: aggregation, the best variant, verdicts, wording."""

from __future__ import annotations

from typing import Any

import pytest

from api.services.gates import MAX_DESCRIPTION, RunOutcome, evaluate_gates, variant_figures
from compression.spec.models import GatesSpec

pytestmark = pytest.mark.unit


def _summary(drop: float, speedup: dict[str, dict[str, float]] | None = None,
             stored: int = 100_000) -> dict[str, Any]:
    return {"accuracy": 0.97 - drop, "baseline_accuracy": 0.97, "accuracy_drop": drop,
            "speedup": speedup if speedup is not None else {"torch": {"1": 1.0, "64": 1.0}},
            "size_bytes": {"dense_fp32": 1_000_000, "stored": stored}}


def _runs() -> list[RunOutcome]:
    """Two AGP sparsities and one channel variant, two seeds each."""
    return [
        # agp 0.5: accurate, not faster (unstructured sparsity)
        RunOutcome(1, "agp[final_sparsity=0.5]", _summary(0.001)),
        RunOutcome(2, "agp[final_sparsity=0.5]", _summary(0.003)),
        # agp 0.9: small loss, not faster, smaller file
        RunOutcome(3, "agp[final_sparsity=0.9]", _summary(0.006, stored=30_000)),
        RunOutcome(4, "agp[final_sparsity=0.9]", _summary(0.010, stored=40_000)),
        # channels 0.5: faster at batch 64 on onnxruntime, a bigger loss
        RunOutcome(5, "channels[final_sparsity=0.5]", _summary(
            0.012, {"torch": {"1": 1.1, "64": 1.6}, "onnxruntime": {"1": 1.2, "64": 2.0}},
            stored=500_000)),
        RunOutcome(6, "channels[final_sparsity=0.5]", _summary(
            0.008, {"torch": {"1": 1.1, "64": 1.8}, "onnxruntime": {"1": 1.3, "64": 2.2}},
            stored=500_000)),
    ]


def test_figures_are_means_over_seeds_at_the_largest_batch_best_runtime() -> None:
    by_variant = {f.variant: f for f in variant_figures(_runs())}
    channels = by_variant["channels[final_sparsity=0.5]"]
    assert channels.run_ids == [5, 6] and channels.seeds == 2 and channels.recipe == "channels"
    assert channels.accuracy_drop == pytest.approx(0.010)
    assert channels.speedup == pytest.approx(2.1)  # onnxruntime beats torch (1.7) at 64
    assert (channels.speedup_runtime, channels.speedup_batch) == ("onnxruntime", 64)
    assert by_variant["agp[final_sparsity=0.9]"].stored_bytes == 35_000
    assert by_variant["agp[final_sparsity=0.5]"].accuracy == pytest.approx(0.968)


def test_best_passes_every_gate_with_the_lowest_drop() -> None:
    report = evaluate_gates(GatesSpec(max_accuracy_drop=0.01, min_speedup=1.5), _runs())
    assert report.passed is True
    assert report.best is not None and report.best.variant == "channels[final_sparsity=0.5]"
    assert [(r.gate, r.passed) for r in report.results] == [
        ("max_accuracy_drop", True), ("min_speedup", True)]
    assert report.results[0].value == pytest.approx(0.010)  # exactly the threshold: passes
    assert report.description.startswith("passed: best channels[final_sparsity=0.5] −1.0 pt")
    assert "2.1× faster" in report.description


def test_a_size_gate_changes_which_variant_is_best() -> None:
    report = evaluate_gates(GatesSpec(max_accuracy_drop=0.01, max_stored_size=50_000), _runs())
    assert report.passed is True
    assert report.best is not None and report.best.variant == "agp[final_sparsity=0.9]"
    assert "35 kB" in report.description


def test_no_variant_passes_reports_the_closest_and_the_failing_gate() -> None:
    report = evaluate_gates(GatesSpec(max_accuracy_drop=0.005, min_speedup=1.5), _runs())
    assert report.passed is False
    # agp 0.5 misses the speed gate by a third; channels misses the accuracy gate by
    # 100% (1.0 pt against 0.5): agp 0.5 is the closest.
    assert report.best is not None and report.best.variant == "agp[final_sparsity=0.5]"
    assert [(r.gate, r.passed) for r in report.results] == [
        ("max_accuracy_drop", True), ("min_speedup", False)]
    assert report.description.startswith("failed (min_speedup): closest agp[final_sparsity=0.5]")


def test_each_recipe_must_pass_on_its_own_best() -> None:
    gates = GatesSpec(max_accuracy_drop=0.01, apply_to="each_recipe")
    report = evaluate_gates(gates, _runs(), recipes=["agp", "channels", "int8-qat"])
    by_recipe = {r.recipe: r for r in report.results}
    assert by_recipe["agp"].passed and by_recipe["agp"].variant == "agp[final_sparsity=0.5]"
    assert by_recipe["channels"].passed
    # a recipe whose runs all failed has nothing to judge: it fails
    assert not by_recipe["int8-qat"].passed and by_recipe["int8-qat"].value is None
    assert report.passed is False and "in int8-qat" in report.description


def test_closest_is_the_one_missing_by_the_least() -> None:
    runs = [RunOutcome(1, "a", _summary(0.001, {"torch": {"64": 1.2}})),
            RunOutcome(2, "b", _summary(0.004, {"torch": {"64": 1.8}}))]
    report = evaluate_gates(GatesSpec(min_speedup=2.0), runs)
    assert report.best is not None and report.best.variant == "b"  # not the more accurate a
    assert report.description == "failed (min_speedup): closest b −0.4 pt, 1.8× faster"


def test_missing_figure_fails_its_gate() -> None:
    runs = [RunOutcome(1, "agp", {"accuracy_drop": 0.0})]
    report = evaluate_gates(GatesSpec(min_speedup=1.1), runs)
    assert report.passed is False and report.results[0].value is None
    assert "speed n/a" in report.description


def test_without_gates_passed_is_null_but_the_best_is_described() -> None:
    report = evaluate_gates(GatesSpec(), _runs())
    assert report.passed is None and report.results == []
    assert report.best is not None and report.best.variant == "agp[final_sparsity=0.5]"
    assert report.description.startswith("no gates: best agp[final_sparsity=0.5] −0.2 pt")


def test_no_succeeded_compress_run_fails_the_gates() -> None:
    report = evaluate_gates(GatesSpec(max_accuracy_drop=0.01), [])
    assert report.passed is False and report.best is None
    assert report.description == "failed (max_accuracy_drop): no compressed run succeeded"
    assert evaluate_gates(GatesSpec(), []).passed is None


def test_description_fits_a_commit_status() -> None:
    long_name = "r" * 64 + "[" + ",".join(f"p{i}=0.123456" for i in range(20)) + "]"
    runs = [RunOutcome(1, long_name, _summary(0.02))]
    report = evaluate_gates(
        GatesSpec(max_accuracy_drop=0.01, min_speedup=2, max_stored_size=10), runs)
    assert len(report.description) <= MAX_DESCRIPTION
    assert report.description.endswith("−2.0 pt, 1.0× faster, 100 kB")
    assert "…" in report.description


def test_malformed_summaries_are_ignored_not_fatal() -> None:
    runs = [RunOutcome(1, "agp", {"accuracy_drop": "high", "speedup": {"torch": [1, 2]},
                                  "size_bytes": 5}),
            RunOutcome(2, "agp", {"accuracy_drop": 0.004, "speedup": {"torch": {"x": 3.0}}})]
    report = evaluate_gates(GatesSpec(max_accuracy_drop=0.01, min_speedup=1.0), runs)
    assert report.best is not None and report.best.accuracy_drop == pytest.approx(0.004)
    assert report.best.speedup is None and report.passed is False


def _perplexity(run_id: int, variant: str, value: float, speedup: float) -> RunOutcome:
    return RunOutcome(run_id, variant, {
        "metric": {"name": "perplexity", "goal": "min", "value": value, "baseline": 20.0,
                   "drop": value - 20.0},
        "metrics": {"perplexity": value}, "speedup": {"torch": {"8": speedup}},
        "size_bytes": {"dense_fp32": 1_000_000, "stored": 500_000}})


def test_a_lower_is_better_metric_is_gated_and_ranked_by_its_drop() -> None:
    runs = [_perplexity(1, "a[x=1]", 21.5, 1.9), _perplexity(2, "a[x=1]", 22.5, 2.1),
            _perplexity(3, "b[x=2]", 20.3, 1.2)]
    figures = {f.variant: f for f in variant_figures(runs)}
    assert figures["a[x=1]"].metric_drop == pytest.approx(2.0)
    assert figures["a[x=1]"].metric == "perplexity" and figures["a[x=1]"].metric_goal == "min"
    assert figures["b[x=2]"].accuracy is None
    report = evaluate_gates(GatesSpec(max_metric_drop=0.5), runs)
    assert report.passed is True and report.best is not None
    assert report.best.variant == "b[x=2]"
    assert report.description == "passed: best b[x=2] perplexity +0.3, 1.2× faster"
    strict = evaluate_gates(GatesSpec(max_metric_drop=0.5, min_speedup=1.5), runs)
    assert strict.passed is False
    assert {r.gate for r in strict.results if not r.passed} == {"min_speedup"}
    # An accuracy gate finds no accuracy in a perplexity sweep: it fails, as missing.
    missing = evaluate_gates(GatesSpec(max_accuracy_drop=0.01), runs)
    assert missing.passed is False and missing.results[0].value is None


def test_summaries_from_before_the_primary_metric_count_accuracy() -> None:
    (old,) = variant_figures([RunOutcome(1, "agp", _summary(0.004))])
    assert (old.metric, old.metric_goal) == ("accuracy", "max")
    assert old.metric_drop == pytest.approx(0.004) and old.metric_value == pytest.approx(0.966)
    report = evaluate_gates(GatesSpec(max_metric_drop=0.005),
                            [RunOutcome(1, "agp", _summary(0.004))])
    assert report.passed is True and report.description.endswith("−0.4 pt, 1.0× faster")


def test_a_noisy_speedup_passes_no_min_speedup_gate() -> None:
    """1.21× whose own repeats cannot tell it from 1.0 counts as 1.0."""
    noisy = _summary(0.001, {"torch": {"64": 1.21}})
    noisy["speedup_interval"] = {"torch": {"64": {"lo": 0.93, "hi": 1.4, "noise": True}}}
    clear = _summary(0.001, {"torch": {"64": 1.21}})
    clear["speedup_interval"] = {"torch": {"64": {"lo": 1.15, "hi": 1.3, "noise": False}}}
    gates = GatesSpec(min_speedup=1.2)
    assert evaluate_gates(gates, [RunOutcome(1, "agp", noisy)]).passed is False
    assert evaluate_gates(gates, [RunOutcome(1, "agp", clear)]).passed is True
