"""``squeezelab local``: a sweep in-process, with a progress bar per run and a results table."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from compression.errors import CompressionError, InvalidSpecError
from compression.local import RunRecord, run_local_sweep
from compression.runner import planned_steps
from compression.spec import RunConfig, RunSummary, load_spec_text
from compression.tasks import Task, list_tasks, resolve_task
from compression.tasks.check import check_task
from compression.tasks.registry import broken_entry_points
from squeezelab.tables import SUMMARY_HEADERS, metric_headers, metric_name, summary_cells

console = Console(stderr=True)


class _Bars:
    """A rich progress bar per run, advanced by the run's ``train/loss`` points."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.ids: dict[str, TaskID] = {}

    def run_started(self, config: RunConfig) -> None:
        total = max(planned_steps(config), 1)
        self.ids[config.name] = self.progress.add_task(escape(config.name), total=total)

    def metric(self, config: RunConfig, key: str, step: int, value: float) -> None:
        if key == "train/loss":
            self.progress.update(self.ids[config.name], completed=step + 1)

    def run_finished(self, record: RunRecord) -> None:
        task_id = self.ids.get(record.name)
        if task_id is None:  # skipped before it started
            task_id = self.ids[record.name] = self.progress.add_task(escape(record.name), total=1)
        mark = {"succeeded": "[green]✓[/]", "failed": "[red]✗[/]"}.get(record.status, "–")
        total = self.progress.tasks[task_id].total or 1
        self.progress.update(task_id, completed=total, description=f"{mark} {escape(record.name)}")


def results_table(runs: list[dict[str, Any]]) -> Table:
    """The final table: run, the primary metric and its drop, sparsity, stored size, p50
    latency, speedup. Why a run failed, and its warnings, go under it (``result_notes``), so
    that a long message cannot squeeze the columns."""
    table = Table(title="squeezelab local: results")
    summaries = [RunSummary.model_validate(r["summary"]) if r.get("summary") else None
                 for r in runs]
    metric = metric_name(summaries)
    longest = max((len(r["name"]) for r in runs), default=10)
    table.add_column("run", min_width=min(longest + 2, 32), overflow="fold")
    for col in (*metric_headers(metric), *SUMMARY_HEADERS):
        table.add_column(col, justify="left" if col == "on" else "right", no_wrap=True)
    for run, summary in zip(runs, summaries, strict=True):
        ok = run["status"] == "succeeded"
        name = f"[green]✓[/] {escape(run['name'])}" if ok else f"[red]✗ {escape(run['name'])}[/]"
        if summary is None:  # failed before it had figures
            table.add_row(name, f"[red]{run['status']}[/]", *[""] * (len(SUMMARY_HEADERS) + 1))
        else:  # a run the result guard failed keeps its figures
            table.add_row(name, *summary_cells(summary, metric))
    return table


def result_notes(runs: list[dict[str, Any]]) -> list[str]:
    """One line per failed run (why) and per warning, printed under the results table."""
    lines = []
    for run in runs:
        name = escape(run["name"])
        if run["status"] != "succeeded":
            error = run.get("error") or {}
            first = str(error.get("message", run["status"])).strip().splitlines()
            lines.append(f"[red]✗ {name}: {escape(error.get('type', 'error'))}: "
                         f"{escape(first[0] if first else '')}[/]")
        for warning in (run.get("summary") or {}).get("warnings") or []:
            lines.append(f"[yellow]⚠ {name}: {escape(warning)}[/]")
        quantization = (run.get("summary") or {}).get("quantization")
        for warning in (quantization or {}).get("warnings") or []:
            lines.append(f"[yellow]⚠ {name}: {escape(warning)}[/]")
    return lines


def run(spec_path: Path, *, out: Path, workdir: Path | None) -> int:
    """Run the sweep; returns the exit code (1 when a run failed)."""
    try:
        spec = load_spec_text(spec_path.read_text())
    except InvalidSpecError as exc:
        console.print(f"[red]invalid spec[/] {spec_path}:")
        for e in exc.errors:
            console.print(f"  {e.pointer or '/'}: {escape(e.message)}")
        return 2
    safe_name = re.sub(r"[^\w.-]", "_", spec.name)
    workdir = workdir or Path(".squeezelab") / "local" / safe_name
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        results = run_local_sweep(spec, workdir=workdir, observer=_Bars(progress))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    output = Console()
    output.print(results_table(results["runs"]))
    for line in result_notes(results["runs"]):
        output.print(line, overflow="fold")
    console.print(f"results: {out}  artifacts: {workdir}")
    return 0 if all(r["status"] == "succeeded" for r in results["runs"]) else 1


def _metrics_cell(task: Task) -> str:
    names = list(task.metrics)
    primary = task.primary_metric or (names[0] if names else "")
    return ", ".join(f"[bold]{escape(n)}[/]" if n == primary else escape(n) for n in names)


def print_tasks() -> None:
    """The registered tasks (built-ins and plug-ins), without building them."""
    table = Table(title="tasks")
    table.add_column("name")
    table.add_column("metrics (primary in bold)")
    table.add_column("description")
    for task in list_tasks():
        table.add_row(escape(task.name), _metrics_cell(task), escape(task.description))
    for name, why in broken_entry_points().items():
        table.add_row(f"[red]✗ {escape(name)}[/]", "", f"[red]{escape(why)}[/]")
    Console().print(table)
    console.print("check that each builds and runs a batch: squeezelab tasks --check")


def check_tasks(spec_path: Path | None) -> int:
    """Build each task (or the task of a spec) and run one batch; 1 when one fails."""
    if spec_path is not None:
        try:
            spec = load_spec_text(spec_path.read_text())
            tasks = [resolve_task(spec.task)]
        except CompressionError as exc:
            console.print(f"[red]✗[/] {escape(str(exc))}")
            return 1
    else:
        tasks = list_tasks()
        for name, why in broken_entry_points().items():
            console.print(f"[red]✗ {escape(name)}[/]: {escape(why)}")
    table = Table(title="task check: build, one batch, loss, metrics")
    for col in ("task", "ok", "inputs", "logits", "params", "primary", "detail", "s"):
        table.add_column(col, justify="right" if col in ("params", "s") else "left")
    failed = 0
    for task in tasks:
        with console.status(f"checking {escape(task.name)}"):
            result = check_task(task)
        failed += not result.ok
        table.add_row(escape(result.name), "[green]✓[/]" if result.ok else "[red]✗[/]",
                      escape(result.inputs), escape(result.logits),
                      f"{result.params:,}", escape(result.primary or ""),
                      escape(result.detail), f"{result.seconds:.1f}")
    Console().print(table)
    return 1 if failed or (spec_path is None and broken_entry_points()) else 0
