"""The `squeezelab local` table and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from squeezelab.cli import app
from squeezelab.local_cmd import result_notes, results_table

pytestmark = pytest.mark.unit


def render(table: object) -> str:
    console = Console(width=300, record=True)
    console.print(table)
    return console.export_text()


def test_grid_point_names_are_shown_literally_not_as_markup() -> None:
    summary = {"accuracy": 0.97, "accuracy_drop": 0.001, "sparsity": 0.9,
               "size_bytes": {"stored": 28_000, "dense_fp32": 200_000},
               "latency_ms": {"torch": {"1": {"p50": 0.05, "p90": 0.06},
                                        "64": {"p50": 0.25, "p90": 0.3}}},
               "speedup": {"torch": {"1": 1.0, "64": 1.25}}}
    text = render(results_table([
        {"name": "agp[final_sparsity=0.9]@seed0", "kind": "compress", "status": "succeeded",
         "summary": summary},
        {"name": "bad[lr=0.1]@seed0", "kind": "compress", "status": "failed", "summary": None,
         "error": {"message": "channel sparsity [0.99] too high"}},
    ]))
    assert "agp[final_sparsity=0.9]@seed0" in text
    assert "97.00%" in text and "90.0%" in text and "27.3 KiB" in text
    assert "0.250" in text and "1.25×" in text and "torch b64" in text
    assert "bad[lr=0.1]@seed0" in text


def test_a_long_error_goes_under_the_table_and_leaves_the_columns_alone() -> None:
    summary = {"accuracy": 0.5, "accuracy_drop": 0.47, "sparsity": 0.9,
               "speedup": {"torch": {"1": 1.0}},
               "warnings": ["layer 'fc1' ended 99.5% sparse"]}
    runs = [{"name": "agp@seed0", "kind": "compress", "status": "failed", "summary": summary,
             "error": {"type": "InvalidResultError", "message": "accuracy at chance"}},
            {"name": "bad@seed0", "kind": "compress", "status": "failed", "summary": None,
             "error": {"type": "NoDeviceError", "message": "no CUDA " * 60}}]
    console = Console(width=120, record=True)
    console.print(results_table(runs))
    table = console.export_text()
    assert "50.00%" in table and "90.0%" in table  # the figures kept, at full width
    assert "no CUDA" not in table
    notes = [render(line).strip() for line in result_notes(runs)]
    assert notes[0] == "✗ agp@seed0: InvalidResultError: accuracy at chance"
    assert notes[1] == "⚠ agp@seed0: layer 'fc1' ended 99.5% sparse"
    assert notes[2].startswith("✗ bad@seed0: NoDeviceError: no CUDA no CUDA")


def test_an_invalid_spec_exits_2_with_the_field_path(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: x\ntask: digits-mlp\nseeds: [0, 0]\n")
    result = CliRunner().invoke(app, ["local", str(spec), "--out", str(tmp_path / "r.json")],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "/seeds" in result.output
    assert not (tmp_path / "r.json").exists()
