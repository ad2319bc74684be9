"""The Markdown summary of a finished CI sweep: the verdict, the gates, a row per run.

Plain GitHub-flavoured Markdown (it goes to the job log and to ``$GITHUB_STEP_SUMMARY``),
so names from the API are escaped for Markdown, not for rich.
"""

from __future__ import annotations

from collections.abc import Sequence

from client.models import Run, Sweep
from squeezelab.tables import (
    NONE,
    SUMMARY_HEADERS,
    metric_headers,
    metric_name,
    summary_cells,
)

_UNITS = {"max_accuracy_drop": ("{:.2f} pt", 100, "≤"), "min_speedup": ("{:.2f}×", 1, "≥"),
          "max_stored_size": ("{:,.0f} B", 1, "≤"), "max_metric_drop": ("{:.4g}", 1, "≤")}


def md(text: object) -> str:
    """Text safe in a Markdown table cell, on one line: what could end the cell or start
    markup (pipes, emphasis, code, HTML) is escaped; run names stay readable."""
    out = str(text).replace("\\", "\\\\")
    for char in "|*`<>":
        out = out.replace(char, "\\" + char)
    return " ".join(out.split())


def code(text: object) -> str:
    """Text inside a code span (where backslashes do not escape): no backticks."""
    return " ".join(str(text).replace("`", "'").split())


def passed(sweep: Sweep) -> bool:
    """The CI verdict: every run succeeded and no gate failed (what the commit status says)."""
    gates_ok = sweep.gates is None or sweep.gates.passed is not False
    return sweep.status == "succeeded" and gates_ok


def _figure(gate: str, value: float | None) -> str:
    if value is None:
        return "missing"
    fmt, scale, _ = _UNITS.get(gate, ("{:g}", 1, "vs"))
    return fmt.format(value * scale)


def gate_rows(sweep: Sweep) -> list[str]:
    if sweep.gates is None or not sweep.gates.results:
        return []
    lines = ["| gate | judged | value | needs | |", "|---|---|---:|---:|:---:|"]
    for result in sweep.gates.results:
        op = _UNITS.get(result.gate, ("", 1, "vs"))[2]
        judged = (f"recipe {result.recipe}: " if result.recipe else "") + (
            result.variant or "no succeeded variant")
        lines.append(f"| {md(result.gate)} | {md(judged)} | {_figure(result.gate, result.value)}"
                     f" | {op} {_figure(result.gate, result.threshold)} | "
                     f"{'✅' if result.passed else '❌'} |")
    return lines


def run_rows(runs: Sequence[Run]) -> list[str]:
    metric = metric_name(r.summary for r in runs)
    head = ("run", "status", *metric_headers(metric), *SUMMARY_HEADERS)
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * 6 + "---|"]
    for run in runs:
        cells = summary_cells(run.summary, metric) if run.summary else [NONE] * 7
        lines.append("| " + " | ".join([md(run.name), run.status, *map(md, cells)]) + " |")
    return lines


def markdown_summary(sweep: Sweep, runs: Sequence[Run], dashboard_url: str) -> str:
    """The whole summary, ending with a newline."""
    verdict = "✅ passed" if passed(sweep) else "❌ failed"
    lines = [f"### squeezelab: {verdict} · sweep {sweep.id} `{code(sweep.name)}` ({sweep.status})",
             ""]
    if sweep.gates is not None and sweep.gates.description:
        lines += [md(sweep.gates.description), ""]
    if gate_rows(sweep):
        lines += [*gate_rows(sweep), ""]
    lines += [*run_rows(runs), ""]
    where = f"`{code(sweep.repo)}`" if sweep.repo else "no repository"
    commit = f" at `{code(sweep.sha[:12])}`" if sweep.sha else ""
    ref = f" (`{code(sweep.ref)}`)" if sweep.ref else ""
    lines.append(f"{where}{commit}{ref} · [dashboard]({dashboard_url})")
    return "\n".join(lines) + "\n"
