"""The compression engine's accuracy, size and speed targets, measured on the example sweeps.

Runs examples/digits-mlp-agp.yaml, examples/digits-cnn-channels.yaml and
examples/mnist1d-baseline.yaml in-process (as ``squeezelab local`` does) and prints, per
recipe, the mean ± std over seeds of accuracy, drop, sparsity, stored size and torch speedup,
then the targets of the compression-engine issue with the measured figure beside each.

    .venv/bin/python benchmarks/compression_targets.py [--only digits-mlp-agp] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from compression.local import run_local_sweep
from compression.measure import hardware_fingerprint
from compression.spec import load_spec_text

EXAMPLES = Path(__file__).parents[1] / "examples"
SWEEPS = ["digits-mlp-agp", "digits-cnn-channels", "mnist1d-baseline"]


def _stats(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.pstdev(values) if len(values) > 1 else 0.0


def aggregate(runs: list[dict[str, Any]]) -> dict[str, dict[str, tuple[float, float]]]:
    """Per recipe grid point (the run name without its seed): mean and std of each figure."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        if run["status"] == "succeeded":
            groups[run["name"].rsplit("@", 1)[0]].append(run["summary"])
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for label, summaries in groups.items():
        out[label] = {
            "n": (len(summaries), 0.0),
            "accuracy": _stats([s["accuracy"] for s in summaries]),
            "drop": _stats([s["accuracy_drop"] for s in summaries]),
            "sparsity": _stats([s["sparsity"] for s in summaries]),
            "stored_ratio": _stats([s["size_bytes"]["stored"] / s["size_bytes"]["dense_fp32"]
                                    for s in summaries]),
            "params": _stats([s["params_total"] for s in summaries]),
            "macs_ratio": _stats([s["macs"]["effective"] / s["macs"]["dense"] for s in summaries]),
            "speedup_torch_b64": _stats([s["speedup"]["torch"]["64"] for s in summaries]),
            "speedup_ort_b64": _stats([s["speedup"].get("onnxruntime", {}).get("64", 0.0)
                                       for s in summaries]),
        }
    return out


Aggregate = dict[str, dict[str, tuple[float, float]]]


def print_sweep(console: Console, name: str, agg: Aggregate) -> None:
    table = Table(title=f"{name} (mean ± std over seeds)")
    cols = ["recipe", "n", "accuracy %", "drop pt", "sparsity %", "stored/dense",
            "MACs eff/dense", "speedup torch b64", "speedup ORT b64"]
    for col in cols:
        table.add_column(col, justify="left" if col == "recipe" else "right")

    def pm(v: tuple[float, float], scale: float = 1.0, digits: int = 2) -> str:
        return f"{v[0] * scale:.{digits}f} ± {v[1] * scale:.{digits}f}"

    for label, a in agg.items():
        table.add_row(escape(label), str(int(a["n"][0])), pm(a["accuracy"], 100),
                      pm(a["drop"], 100),
                      pm(a["sparsity"], 100, 1), pm(a["stored_ratio"], 1, 3),
                      pm(a["macs_ratio"], 1, 3), pm(a["speedup_torch_b64"]),
                      pm(a["speedup_ort_b64"]))
    console.print(table)


def _find(agg: dict[str, dict[str, tuple[float, float]]], prefix: str) -> dict[str, Any] | None:
    return next((v for k, v in agg.items() if k.startswith(prefix)), None)


def print_targets(console: Console, everything: dict[str, Any]) -> None:
    """The issue's must-show targets, each with the measured figure and a verdict."""
    rows: list[tuple[str, str, bool]] = []
    if mlp := everything.get("digits-mlp-agp"):
        base, agp = _find(mlp, "baseline"), _find(mlp, "agp[final_sparsity=0.9]")
        if base and agp:
            rows += [
                ("digits-mlp dense accuracy >= 97%", f"{100 * base['accuracy'][0]:.2f}%",
                 base["accuracy"][0] >= 0.97),
                ("digits-mlp AGP 90% drop <= 0.5 pt", f"{100 * agp['drop'][0]:+.2f} pt",
                 agp["drop"][0] <= 0.005),
                ("AGP 90% sparsity within 0.5% of target", f"{100 * agp['sparsity'][0]:.2f}%",
                 abs(agp["sparsity"][0] - 0.9) <= 0.005),
                ("90% unstructured stored <= 25% of dense fp32",
                 f"{100 * agp['stored_ratio'][0]:.1f}%", agp["stored_ratio"][0] <= 0.25),
            ]
    if m1d := everything.get("mnist1d-baseline"):
        base = _find(m1d, "baseline")
        if base:
            rows.append(("mnist1d-cnn dense accuracy >= 93%", f"{100 * base['accuracy'][0]:.2f}%",
                         base["accuracy"][0] >= 0.93))
    if cnn := everything.get("digits-cnn-channels"):
        base, half = _find(cnn, "baseline"), _find(cnn, "channels[final_sparsity=0.5]")
        if base and half:
            rows += [
                ("digits-cnn channels 50%: params shrink",
                 f"{half['params'][0]:.0f} vs {base['params'][0]:.0f}",
                 half["params"][0] < base["params"][0]),
                ("digits-cnn channels 50%: MACs shrink", f"{half['macs_ratio'][0]:.3f} of dense",
                 half["macs_ratio"][0] < 1.0),
                ("digits-cnn channels 50%: torch CPU speedup >= 1.5x at batch 64",
                 f"{half['speedup_torch_b64'][0]:.2f}x", half["speedup_torch_b64"][0] >= 1.5),
            ]
    table = Table(title="targets (mean over seeds)")
    for col in ("target", "measured", "met"):
        table.add_column(col)
    for target, measured, met in rows:
        table.add_row(target, measured, "[green]yes[/]" if met else "[red]NO[/]")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=SWEEPS, action="append")
    parser.add_argument("--json", type=Path, help="also write the aggregated figures here")
    args = parser.parse_args()
    torch.set_num_threads(2)  # training threads; the latency harness pins its own
    console = Console(width=200)  # tables stay whole when piped to a file
    everything: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or SWEEPS:
            spec = load_spec_text((EXAMPLES / f"{name}.yaml").read_text())
            results = run_local_sweep(spec, workdir=Path(tmp) / name)
            failed = [r for r in results["runs"] if r["status"] != "succeeded"]
            for r in failed:
                error = escape(str(r["error"]))
                console.print(f"[red]{escape(r['name'])} {r['status']}: {error}[/]")
            agg = aggregate(results["runs"])
            print_sweep(console, name, agg)
            everything[name] = agg
    print_targets(console, everything)
    hw = hardware_fingerprint(1)
    console.print(f"machine: {hw['cpu']}, {hw['cores']} cores, torch {hw['torch']}, "
                  f"onnxruntime {hw['onnxruntime']}")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1))


if __name__ == "__main__":
    main()
