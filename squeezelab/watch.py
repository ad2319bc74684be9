"""Follow a sweep until it ends: a progress bar per run, refreshed by polling the API.

A bar counts a run's epochs: the newest value of its ``epoch`` metric (the trainer posts
one point per finished epoch) out of the epochs its config plans. Steps would be finer, but
the planned step count depends on the size of the task's data set, which only a worker that
loads the data knows; epochs come from the config alone.

Polling (about once a second) rather than the SSE stream keeps the watcher simple and lets it
ride out an API restart: a failed poll is reported once and retried on the next tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn

from client import Client
from client.errors import ApiConnectionError, ApiError
from client.models import Run, Sweep
from compression.errors import UnsupportedRecipeError
from compression.schedules import schedule_epochs
from compression.spec import StoredConfigError, load_run_config, scalar
from squeezelab.tables import MARK, STATUS_STYLE, TERMINAL, styled_status

POLL_S = 1.0


def planned_epochs(config: Mapping[str, Any]) -> int | None:
    """The epochs a run trains for, i.e. the last value of its ``epoch`` metric.

    None when the run trains nothing (a sensitivity scan) or the config is not one this
    version understands.
    """
    try:
        run = load_run_config(config)
    except StoredConfigError:
        return None
    if run.kind == "baseline":
        epochs = scalar(run.baseline.epochs)
        return epochs or None  # a pretrained baseline trains no epoch
    recipe = run.recipe
    if recipe is None or recipe.sensitivity is not None:
        return None
    finetune = scalar(recipe.finetune.epochs) if recipe.finetune is not None else 0
    try:
        return schedule_epochs(recipe.schedule if recipe.prune is not None else None, finetune)
    except UnsupportedRecipeError:
        return None


def epochs_done(client: Client, run_id: int) -> float:
    """The newest ``epoch`` point of a run (0 before its first epoch ends)."""
    series = client.get_series(run_id, "epoch", buckets=1)
    return series.buckets[-1].last if series.buckets else 0.0


@dataclass(frozen=True)
class Outcome:
    """A sweep that has ended, and every run of it."""

    sweep: Sweep
    runs: list[Run]

    @property
    def all_succeeded(self) -> bool:
        return bool(self.runs) and all(r.status == "succeeded" for r in self.runs)


class _Bars:
    """One bar per run; on a console that is not a terminal (CI logs), a line per change."""

    def __init__(self, progress: Progress, log: Console | None) -> None:
        self.progress = progress
        self.log = log
        self.ids: dict[int, TaskID] = {}
        self.planned: dict[int, int | None] = {}  # a run's config never changes
        self.seen: dict[int, tuple[str, int]] = {}

    def show(self, run: Run, done: float | None) -> None:
        name = escape(run.name)
        if run.id not in self.ids:
            self.planned[run.id] = planned_epochs(run.config)
            self.ids[run.id] = self.progress.add_task(name, total=self.planned[run.id],
                                                      epochs="", state="")
        total = self.planned[run.id]
        task_id = self.ids[run.id]
        if run.status == "succeeded":
            # A run that trains nothing still fills its bar when it ends.
            total = total or 1
            done = total
        state = styled_status(run.status)
        if run.attempt > 1:
            state += f" (attempt {run.attempt})"
        fields: dict[str, Any] = {"state": state}
        if done is not None:
            fields["completed"] = min(done, total) if total else done
            fields["epochs"] = f"{done:g}/{total} ep" if total else f"{done:g} ep"
        mark = MARK.get(run.status, " ")
        style = STATUS_STYLE.get(run.status, "")
        self.progress.update(task_id, total=total, description=f"[{style}]{mark}[/] {name}",
                             **fields)
        self._log_change(run)

    def _log_change(self, run: Run) -> None:
        key = (run.status, run.attempt)
        if self.log is None or self.seen.get(run.id) == key:
            return
        self.seen[run.id] = key
        where = (f" on {escape(run.lease_owner)}"
                 if run.lease_owner and run.status == "running" else "")
        again = f" (attempt {run.attempt})" if run.attempt > 1 else ""
        self.log.print(f"run {run.id} {escape(run.name)}: {styled_status(run.status)}"
                       f"{again}{where}")


def _poll(client: Client, sweep_id: int, bars: _Bars) -> Outcome:
    sweep = client.get_sweep(sweep_id)
    runs = list(client.iter_runs(sweep_id=sweep_id, page_size=1000))
    for run in runs:
        done = epochs_done(client, run.id) if run.status == "running" else None
        bars.show(run, 0.0 if done is None and run.status == "queued" else done)
    return Outcome(sweep, runs)


def watch(client: Client, sweep_id: int, *, console: Console, interval: float = POLL_S,
          pause: Callable[[float], None] = time.sleep) -> Outcome | None:
    """Show the sweep's runs until all have ended; None when the user pressed Ctrl-C.

    An unreachable API or a 5xx (e.g. the database restarting) is reported once and polled
    again; any other API error propagates.
    """
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[epochs]}"),
               TextColumn("{task.fields[state]}"))
    # Redrawn after each poll, not on a timer: nothing on screen changes between polls.
    progress = Progress(*columns, console=console, disable=not console.is_terminal,
                        auto_refresh=False)
    bars = _Bars(progress, None if console.is_terminal else console)
    outage: str | None = None
    try:
        with progress:
            while True:
                started = time.monotonic()
                try:
                    outcome = _poll(client, sweep_id, bars)
                except (ApiConnectionError, ApiError) as exc:
                    if isinstance(exc, ApiError) and exc.status < 500:
                        raise
                    if outage is None:
                        progress.console.print(f"[yellow]API unavailable[/] ({escape(str(exc))}); "
                                               "retrying…")
                    outage = str(exc)
                else:
                    progress.refresh()
                    if outage is not None:
                        progress.console.print("[green]API reachable again[/]")
                        outage = None
                    if outcome.sweep.status in TERMINAL and all(
                            r.status in TERMINAL for r in outcome.runs):
                        return outcome
                pause(max(0.0, interval - (time.monotonic() - started)))
    except KeyboardInterrupt:
        return None
