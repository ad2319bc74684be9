"""Tables and one-line summaries of sweeps, runs, metrics and tokens, for the remote commands.

Everything shown comes from the API, so names and messages are escaped (a run or token name
with ``[red]`` in it prints as text) and any summary figure may be missing: a sensitivity
run has no latency, an older worker may not report a field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table

from client.models import GateResult, Run, Sweep, Token
from compression.spec.metrics import is_fraction
from compression.spec.summary import RunSummary, SpeedupInterval

STATUS_STYLE = {"queued": "dim", "running": "cyan", "succeeded": "green", "failed": "red",
                "cancelled": "yellow"}
MARK = {"queued": "·", "running": "▶", "succeeded": "✓", "failed": "✗", "cancelled": "–"}
NONE = "–"
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


def styled_status(status: str) -> str:
    style = STATUS_STYLE.get(status, "")
    return f"[{style}]{escape(status)}[/]" if style else escape(status)


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _number(value: Any) -> float | None:
    # bool is an int: a summary field that is True/False is not a figure.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def metric_name(summaries: Iterable[RunSummary | None]) -> str:
    """The primary metric of a sweep's runs (accuracy when no summary names one)."""
    for summary in summaries:
        if summary is not None and summary.metric is not None:
            return summary.metric.name
    return "accuracy"


def metric_headers(metric: str) -> tuple[str, str]:
    """The two column headers of the primary metric: its value and its drop."""
    return metric, ("drop pt" if is_fraction(metric) else "drop")


def metric_cells(summary: RunSummary, metric: str) -> tuple[str, str]:
    """The primary metric's value and drop (how much worse than the baseline)."""
    value: float | None
    drop: float | None
    if summary.metric is not None and summary.metric.name == metric:
        value, drop = summary.metric.value, summary.metric.drop
    elif metric == "accuracy":
        value, drop = summary.accuracy, summary.accuracy_drop
    else:
        value, drop = (summary.metrics or {}).get(metric), None
    if is_fraction(metric):
        return (NONE if value is None else f"{100 * value:.2f}%",
                NONE if drop is None else f"{100 * drop:+.2f}")
    return (NONE if value is None else f"{value:.4g}",
            NONE if drop is None else f"{drop:+.4g}")


def speedup_text(speed: float | None, interval: SpeedupInterval | None) -> str:
    """``1.83× (1.71–1.95)`` with its 95% interval, or ``≈1.0× (noise)`` when the interval
    contains 1.0: the ratio alone would pass noise off as a gain. A baseline's 1.0 and older
    summaries have no interval and show the bare ratio."""
    if speed is None:
        return NONE
    if interval is None:
        return f"{speed:.2f}×"
    if interval.noise:
        return "≈1.0× (noise)"
    return f"{speed:.2f}× ({interval.lo:.2f}–{interval.hi:.2f})"


def latency_cells(summary: RunSummary) -> tuple[str, str, str]:
    """p50 ms, speedup and where it was measured: the largest batch of the first runtime."""
    latency = summary.latency_ms
    if not latency:
        return NONE, NONE, ""
    runtime, by_batch = next(iter(latency.items()))
    if not by_batch:
        return NONE, NONE, ""
    batch = max(by_batch, key=lambda b: int(b) if str(b).isascii() and str(b).isdigit() else -1)
    p50 = _number((by_batch[batch] or {}).get("p50"))
    speed = _number(((summary.speedup or {}).get(runtime) or {}).get(batch))
    interval = ((summary.speedup_interval or {}).get(runtime) or {}).get(batch)
    where = f"{'ORT' if runtime == 'onnxruntime' else runtime} b{batch}"
    return (NONE if p50 is None else f"{p50:.3f}", speedup_text(speed, interval), escape(where))


SUMMARY_HEADERS = ("sparsity", "stored", "p50 ms", "speedup", "on")


def summary_cells(summary: RunSummary, metric: str = "accuracy") -> list[str]:
    """metric, drop, sparsity, stored size, p50, speedup, where."""
    stored = (summary.size_bytes or {}).get("stored")
    return [*metric_cells(summary, metric),
            NONE if summary.sparsity is None else f"{100 * summary.sparsity:.1f}%",
            NONE if stored is None else fmt_bytes(stored), *latency_cells(summary)]


def error_text(error: Mapping[str, Any] | None) -> str:
    """``Type: message`` of a run's error (its first line: tracebacks are for ``logs``)."""
    if not error:
        return ""
    message = str(error.get("message", "")).strip().splitlines()
    return f"{error.get('type', 'error')}: {message[0] if message else ''}"


def runs_table(runs: Sequence[Run], *, title: str) -> Table:
    """One row per run: id, name, status, then its summary figures (blank without one)."""
    table = Table(title=escape(title))
    table.add_column("id", justify="right")
    longest = max((len(r.name) for r in runs), default=10)
    table.add_column("run", min_width=min(longest, 40), overflow="fold")
    table.add_column("status", no_wrap=True)
    metric = metric_name(r.summary for r in runs)
    for col in (*metric_headers(metric), *SUMMARY_HEADERS[:-1]):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("on", no_wrap=True)
    for run in runs:
        status = styled_status(run.status)
        if run.attempt > 1:
            status += f" (attempt {run.attempt})"
        if run.status == "queued" and run.depends_on_id is not None:
            status += f" [dim]after run {run.depends_on_id}[/]"
        cells = summary_cells(run.summary, metric) if run.summary else [""] * 7
        table.add_row(str(run.id), escape(run.name), status, *cells)
    return table


def error_lines(runs: Sequence[Run]) -> list[str]:
    """One line per run with an error, then one per warning of a run's summary, printed
    under the table so messages stay whole."""
    lines = [f"[red]✗[/] run {run.id} {escape(run.name)}: {escape(error_text(run.error))}"
             for run in runs if run.error]
    for run in runs:
        if run.summary is None:
            continue
        quantization = (run.summary.model_extra or {}).get("quantization")
        extra = quantization.get("warnings") if isinstance(quantization, dict) else None
        for warning in [*(run.summary.warnings or []), *(extra or [])]:
            lines.append(f"[yellow]⚠[/] run {run.id} {escape(run.name)}: {escape(warning)}")
    return lines


def counts_line(counts: Mapping[str, int]) -> str:
    """``6 runs: 4 succeeded, 1 failed, 1 running`` in state-machine order."""
    total = sum(counts.values())
    parts = [f"{counts[s]} {styled_status(s)}" for s in STATUS_STYLE if counts.get(s)]
    return f"{total} run{'s' if total != 1 else ''}" + (": " + ", ".join(parts) if parts else "")


def _gate_check(result: GateResult) -> str:
    """``max_accuracy_drop 0.30 pt (needs ≤ 1.00 pt)``, in the gate's unit."""
    value, threshold = result.value, result.threshold
    if result.gate == "max_metric_drop":
        shown, limit, op = (None if value is None else f"{value:.4g}", f"{threshold:.4g}", "≤")
    elif result.gate == "max_accuracy_drop":
        shown, limit, op = (None if value is None else f"{100 * value:.2f} pt",
                            f"{100 * threshold:.2f} pt", "≤")
    elif result.gate == "min_speedup":
        shown, limit, op = (None if value is None else f"{value:.2f}×", f"{threshold:.2f}×",
                            "≥")
    elif result.gate == "max_stored_size":
        shown, limit, op = (None if value is None else fmt_bytes(value), fmt_bytes(threshold),
                            "≤")
    else:
        shown, limit, op = (None if value is None else f"{value:g}", f"{threshold:g}", "vs")
    return f"{escape(result.gate)} {shown or 'missing'} (needs {op} {limit})"


def gates_lines(sweep: Sweep) -> list[str]:
    """The sweep's gate verdict and one line per gate checked; none when it sets no gates.

    The API evaluates the gates when the sweep ends: before that ``gates`` is null.
    """
    gates = sweep.gates
    if gates is None:
        pending = sweep.status not in TERMINAL and (sweep.spec or {}).get("gates")
        return ["gates: [dim]pending (checked when the sweep ends)[/]"] if pending else []
    style = "dim" if gates.passed is None else "green" if gates.passed else "red"
    lines = [f"gates: [{style}]{escape(gates.description or str(gates.passed))}[/]"]
    for result in gates.results:
        mark = "[green]✓[/]" if result.passed else "[red]✗[/]"
        judged = result.variant or "no succeeded variant"
        scope = f"recipe {result.recipe}: " if result.recipe else ""
        lines.append(f"  {mark} {_gate_check(result)}: {escape(scope + judged)}")
    return lines


def sweep_header(sweep: Sweep) -> str:
    origin = escape(sweep.source)
    if sweep.repo:
        where = f"{sweep.repo}@{sweep.ref or ''} {(sweep.sha or '')[:12]}"
        origin += f" {escape(where)}"
    return (f"sweep {sweep.id} [bold]{escape(sweep.name)}[/] ({escape(sweep.task)}): "
            f"{styled_status(sweep.status)}, from {origin}")


def metrics_table(latest: Sequence[tuple[str, int, float]]) -> Table:
    """The newest point of each metric key: key, step, value."""
    table = Table(title="latest metrics")
    table.add_column("key")
    table.add_column("step", justify="right")
    table.add_column("value", justify="right")
    for key, step, value in latest:
        table.add_row(escape(key), str(step), f"{value:.6g}")
    return table


def tokens_table(tokens: Sequence[Token]) -> Table:
    table = Table(title="API tokens")
    for col in ("id", "name", "sha256", "scopes", "created", "last used", "revoked"):
        table.add_column(col, justify="right" if col == "id" else "left")

    def when(value: Any) -> str:
        return value.strftime("%Y-%m-%d %H:%M") if value is not None else NONE

    for t in tokens:
        table.add_row(str(t.id), escape(t.name), escape(t.prefix), escape(",".join(t.scopes)),
                      when(t.created_at), when(t.last_used_at),
                      f"[red]{when(t.revoked_at)}[/]" if t.revoked_at else NONE)
    return table
