"""``squeezelab logs RUN [--follow]``: what happened in one run.

Shows the run's state (status, attempt, the worker holding its lease), its error, the
``run.log`` artifact a worker uploads, and the newest point of every metric. ``--follow``
polls until the run ends, printing state changes, a line per finished epoch and new log
text as the worker uploads it.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from client import Client
from client.models import Run
from squeezelab.remote import api_errors, out, remote
from squeezelab.tables import TERMINAL, metrics_table, styled_status
from squeezelab.watch import POLL_S, planned_epochs

LOG_NAME = "run.log"
# Printed beside the epoch count while following; any key the run lacks is left out.
FOLLOW_KEYS = ("train/loss", "val/accuracy", "sparsity/actual")


def latest_metrics(client: Client, run_id: int) -> list[tuple[str, int, float]]:
    """(key, step, value) of the newest point of each of the run's metric keys."""
    latest = []
    for key in client.metric_keys(run_id):
        buckets = client.get_series(run_id, key, buckets=1).buckets
        if buckets:
            latest.append((key, buckets[-1].step_max, buckets[-1].last))
    return latest


class LogTail:
    """Prints a run's ``run.log``: all of it once, then only what each new upload added."""

    def __init__(self, client: Client, run_id: int) -> None:
        self.client, self.run_id = client, run_id
        self.sha: str | None = None
        self.printed = ""

    def update(self) -> None:
        artifact = next((a for a in self.client.list_artifacts(self.run_id)
                         if a.name == LOG_NAME), None)
        if artifact is None or artifact.sha256 == self.sha:
            return
        with tempfile.TemporaryDirectory(prefix="squeezelab-log-") as tmp:
            path = self.client.download_artifact(self.run_id, LOG_NAME, Path(tmp) / LOG_NAME)
            text = path.read_text(encoding="utf-8", errors="replace")
        self.sha = artifact.sha256
        if self.printed and text.startswith(self.printed):
            new = text[len(self.printed):]
        else:
            out.print(f"[dim]── {LOG_NAME} ({artifact.size} bytes) ──[/]")
            new = text
        # Log text is printed as it is: no markup, no highlighting, no re-wrapping.
        out.out(new, end="" if new.endswith("\n") or not new else "\n", highlight=False)
        self.printed = text


def state_line(run: Run) -> str:
    parts = [f"run {run.id} {escape(run.name)}: {styled_status(run.status)}",
             f"attempt {run.attempt}"]
    worker = run.lease_owner or (run.error or {}).get("worker")
    if worker:
        parts.append(f"worker {escape(str(worker))}")
    if run.cancel_requested and run.status not in TERMINAL:
        parts.append("[yellow]cancel requested[/]")
    return ", ".join(parts)


def print_error(run: Run) -> None:
    if not run.error:
        return
    out.print(f"[red]error:[/] {escape(str(run.error.get('type', 'error')))}: "
              f"{escape(str(run.error.get('message', '')))}")
    if run.error.get("traceback"):
        out.out(str(run.error["traceback"]).rstrip("\n"), highlight=False)


def show(client: Client, run_id: int) -> None:
    """Everything about the run, once."""
    run = client.get_run(run_id)
    out.print(state_line(run))
    print_error(run)
    LogTail(client, run_id).update()
    latest = latest_metrics(client, run_id)
    if latest:
        out.print(metrics_table(latest))


def follow(client: Client, run_id: int, *, interval: float = POLL_S,
           pause: Callable[[float], None] = time.sleep) -> Run:
    """Print the run's progress until it ends; returns the ended run."""
    tail = LogTail(client, run_id)
    last_state: str | None = None
    last_epoch = 0.0
    while True:
        started = time.monotonic()
        run = client.get_run(run_id)
        if (line := state_line(run)) != last_state:
            out.print(line)
            last_state = line
        if run.status in ("running", *TERMINAL):
            latest = {k: (s, v) for k, s, v in latest_metrics(client, run_id)}
            epoch = latest.get("epoch", (0, 0.0))[1]
            if epoch > last_epoch:
                last_epoch = epoch
                total = planned_epochs(run.config)
                figures = "  ".join(f"{escape(k)} {latest[k][1]:.4g}" for k in FOLLOW_KEYS
                                    if k in latest)
                out.print(f"  epoch {epoch:g}{f'/{total}' if total else ''}  {figures}")
            tail.update()
        if run.status in TERMINAL:
            print_error(run)
            return run
        pause(max(0.0, interval - (time.monotonic() - started)))


def logs(
    ctx: typer.Context,
    run: Annotated[int, typer.Argument(min=1, help="The run id.", show_default=False)],
    follow_: Annotated[bool, typer.Option("--follow", "-f", help=(
        "Poll until the run ends; exit 1 if it failed or was cancelled."))] = False,
    interval: Annotated[float, typer.Option("--interval", min=0.05,
                                            help="Seconds between polls with --follow.")
                        ] = POLL_S,
) -> None:
    """A run's status, worker, error, run.log and latest metrics."""
    api = remote(ctx)
    with api_errors(api.api_url), api.client() as client:
        if not follow_:
            show(client, run)
            return
        try:
            ended = follow(client, run, interval=interval)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        latest = latest_metrics(client, run)
        if latest:
            out.print(metrics_table(latest))
        raise typer.Exit(0 if ended.status == "succeeded" else 1)
