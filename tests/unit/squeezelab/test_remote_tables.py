"""Tables and lines of the remote commands: figures, missing fields, escaping, gates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rich.console import Console

from client.models import Run, Sweep
from squeezelab.tables import counts_line, error_lines, gates_lines, runs_table

pytestmark = pytest.mark.unit


def render(renderable: object) -> str:
    console = Console(width=250, record=True)
    console.print(renderable)
    return console.export_text()


def make_run(run_id: int, name: str, status: str, *, summary: dict[str, Any] | None = None,
             error: dict[str, Any] | None = None, attempt: int = 1) -> Run:
    return Run.model_validate({
        "id": run_id, "sweep_id": 1, "name": name, "variant": name, "kind": "compress",
        "status": status, "seed": 0, "queue": "cpu", "config": {}, "config_hash": "h",
        "baseline_key": "b", "depends_on_id": 1, "attempt": attempt, "summary": summary,
        "error": error, "created_at": datetime(2026, 1, 1, tzinfo=UTC)})


def test_figures_of_a_summary_and_errors_in_full_under_the_table() -> None:
    summary = {"accuracy": 0.9612, "accuracy_drop": 0.0088, "sparsity": 0.9,
               "size_bytes": {"dense_fp32": 400_000, "stored": 51_200},
               "latency_ms": {"onnxruntime": {"1": {"p50": 0.02}, "64": {"p50": 0.5}}},
               "speedup": {"onnxruntime": {"1": 1.1, "64": 1.6}}}
    runs = [make_run(7, "q/agp[final_sparsity=0.9]/seed=0", "succeeded", summary=summary),
            make_run(8, "q/bad[x]/seed=0", "failed", attempt=2,
                     error={"type": "ImpossibleTargetError",
                            "message": "[bold]99%[/] is too much\nTraceback..."})]
    text = render(runs_table(runs, title="t"))
    assert "q/agp[final_sparsity=0.9]/seed=0" in text  # markup-like names are literal
    assert "96.12%" in text and "+0.88" in text and "90.0%" in text and "50.0 KiB" in text
    assert "0.500" in text and "1.60×" in text and "ORT b64" in text
    assert "failed (attempt 2)" in text
    errors = [render(line).strip() for line in error_lines(runs)]
    assert errors == ["✗ run 8 q/bad[x]/seed=0: ImpossibleTargetError: [bold]99%[/] is too much"]


def test_missing_summary_fields_show_a_dash() -> None:
    text = render(runs_table([make_run(3, "q/sens/seed=0", "succeeded",
                                       summary={"accuracy": 0.5, "latency_ms": {}})], title="t"))
    row = next(line for line in text.splitlines() if "q/sens/seed=0" in line)
    assert "50.00%" in row
    assert row.count("–") == 5  # drop, sparsity, stored, p50, speedup


def _timed(speedup: float, lo: float, hi: float) -> dict[str, Any]:
    return {"latency_ms": {"torch": {"1": {"p50": 0.1}, "64": {"p50": 0.4}}},
            "speedup": {"torch": {"1": 1.02, "64": speedup}},
            "speedup_interval": {"torch": {
                "1": {"lo": 0.97, "hi": 1.06, "noise": True},
                "64": {"lo": lo, "hi": hi, "noise": lo <= 1.0 <= hi}}}}


def test_a_speedup_whose_interval_contains_one_is_shown_as_noise() -> None:
    runs = [make_run(1, "unstructured", "succeeded", summary=_timed(1.17, 0.94, 1.31)),
            make_run(2, "channel", "succeeded", summary=_timed(1.83, 1.71, 1.95)),
            make_run(3, "baseline", "succeeded", summary={
                "latency_ms": {"torch": {"64": {"p50": 0.7}}}, "speedup": {"torch": {"64": 1.0}}})]
    rows = {line.split()[1]: line for line in render(runs_table(runs, title="t")).splitlines()
            if line.split()[1:2] and line.split()[1] in ("1", "2", "3")}
    assert "≈1.0× (noise)" in rows["1"] and "1.17" not in rows["1"]
    assert "1.83× (1.71–1.95)" in rows["2"] and "noise" not in rows["2"]
    assert "1.00×" in rows["3"]  # the baseline's 1.0 is a definition, not a measurement


def test_a_summary_with_a_boolean_for_a_figure_is_refused() -> None:
    with pytest.raises(ValueError, match="not a boolean"):
        make_run(3, "r", "succeeded", summary={"accuracy": 0.5, "sparsity": True})


def test_the_primary_metric_names_its_columns_in_its_unit() -> None:
    def summary(f1: float, perplexity: float) -> dict[str, Any]:
        return {"metric": {"name": "perplexity", "goal": "min", "value": perplexity,
                           "baseline": 20.0, "drop": perplexity - 20.0},
                "metrics": {"perplexity": perplexity, "macro_f1": f1}, "sparsity": 0.5}

    text = render(runs_table([make_run(1, "a", "succeeded", summary=summary(0.8, 21.5)),
                              make_run(2, "b", "succeeded", summary=summary(0.9, 19.25))],
                             title="t"))
    header = next(line for line in text.splitlines() if "perplexity" in line)
    assert "drop" in header and "drop pt" not in header and "accuracy" not in header
    assert "21.5" in text and "+1.5" in text and "19.25" in text and "-0.75" in text


def test_a_queued_compress_run_says_what_it_waits_for() -> None:
    assert "queued after run 1" in render(runs_table([make_run(2, "r", "queued")], title="t"))


def test_counts_in_state_machine_order() -> None:
    text = render(counts_line({"failed": 1, "succeeded": 4, "queued": 1}))
    assert text.strip() == "6 runs: 1 queued, 4 succeeded, 1 failed"
    assert render(counts_line({})).strip() == "0 runs"


def make_sweep(status: str, gates: dict[str, Any] | None,
               spec: dict[str, Any] | None = None) -> Sweep:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Sweep.model_validate({
        "id": 1, "name": "s", "task": "digits-mlp", "status": status, "source": "cli",
        "created_at": now, "updated_at": now, "run_count": 1, "counts": {status: 1},
        "spec": spec, "gates": gates})


def test_gates_verdict_and_each_check_in_its_unit() -> None:
    gates = {"passed": False, "apply_to": "best",
             "description": "failed: min_speedup; best agp[final_sparsity=0.9] −0.3 pt, 1.1×",
             "results": [
                 {"gate": "max_accuracy_drop", "variant": "agp[final_sparsity=0.9]",
                  "value": 0.003, "threshold": 0.01, "passed": True},
                 {"gate": "min_speedup", "variant": "agp[final_sparsity=0.9]", "value": 1.1,
                  "threshold": 1.2, "passed": False},
                 {"gate": "max_stored_size", "recipe": "agp", "variant": None, "value": None,
                  "threshold": 65536, "passed": False}]}
    lines = [render(line).strip() for line in gates_lines(make_sweep("succeeded", gates))]
    assert lines == [
        "gates: failed: min_speedup; best agp[final_sparsity=0.9] −0.3 pt, 1.1×",
        "✓ max_accuracy_drop 0.30 pt (needs ≤ 1.00 pt): agp[final_sparsity=0.9]",
        "✗ min_speedup 1.10× (needs ≥ 1.20×): agp[final_sparsity=0.9]",
        "✗ max_stored_size missing (needs ≤ 64.0 KiB): recipe agp: no succeeded variant"]


def test_gates_before_the_end_and_without_gates() -> None:
    assert gates_lines(make_sweep("succeeded", None)) == []
    assert gates_lines(make_sweep("running", None, spec={"name": "s"})) == []
    pending = gates_lines(make_sweep("running", None, spec={"gates": {"min_speedup": 1.5}}))
    assert [render(line).strip() for line in pending] == [
        "gates: pending (checked when the sweep ends)"]
    none_set = gates_lines(make_sweep("succeeded", {"passed": None,
                                                    "description": "no gates: best x"}))
    assert [render(line).strip() for line in none_set] == ["gates: no gates: best x"]


def test_warnings_of_a_summary_are_listed_under_the_table() -> None:
    summary = {"accuracy": 0.9, "warnings": ["layer 'fc1' ended 99.5% sparse"],
               "quantization": {"warnings": ["ptq_dynamic quantized nothing heavy"]}}
    run = make_run(9, "q/dyn", "succeeded", summary=summary)
    lines = [render(line).strip() for line in error_lines([run])]
    assert lines == ["⚠ run 9 q/dyn: layer 'fc1' ended 99.5% sparse",
                     "⚠ run 9 q/dyn: ptq_dynamic quantized nothing heavy"]
