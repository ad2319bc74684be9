"""``submit``, ``status``, ``runs`` and ``cancel``: sweeps on a squeezelab API, through the SDK.

Exit codes: 0 done (with ``--wait``: every run succeeded), 1 a run failed or was cancelled
(or the API refused the request), 2 the request could not be made (bad spec, API
unreachable, token missing), 130 the user stopped watching with Ctrl-C (the sweep goes on).
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.markup import escape

from client import Client
from client.models import Run, Sweep, Upload
from squeezelab.remote import api_errors, err, out, remote
from squeezelab.tables import counts_line, error_lines, gates_lines, runs_table, sweep_header
from squeezelab.watch import POLL_S, watch

DETACHED = 130

WaitOpt = Annotated[bool, typer.Option("--wait", help="Follow the runs until the sweep ends; "
                                       "exit 1 if any run failed or was cancelled.")]
IntervalOpt = Annotated[float, typer.Option("--interval", min=0.05,
                                            help="Seconds between polls while waiting.")]
SweepArg = Annotated[int, typer.Argument(min=1, help="The sweep id.", show_default=False)]


WeightsOpt = Annotated[Path | None, typer.Option(
    "--weights", exists=True, dir_okay=False, readable=True,
    help="Pretrained baseline weights (safetensors or a PyTorch state dict): uploaded, and "
         "named as the spec's baseline.weights (the baseline is then evaluated, not trained).")]


def submit(
    ctx: typer.Context,
    spec: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="Sweep spec (YAML, or JSON with a .json name).")],
    wait: WaitOpt = False,
    source: Annotated[str, typer.Option(help="Recorded as the sweep's source.")] = "cli",
    interval: IntervalOpt = POLL_S,
    weights: WeightsOpt = None,
) -> None:
    """Submit a sweep spec to the API; with --wait, follow it to the end."""
    api = remote(ctx)
    with api_errors(api.api_url), api.client() as client:
        body: Path | dict[str, Any] = spec
        if weights is not None:
            body = with_weights(spec, _upload(client, weights).ref)
        created = client.submit_sweep(body, source=source)
        baselines = len(created.baseline_run_ids)
        err.print(f"submitted sweep [bold]{created.id}[/] {escape(created.name)}: "
                  f"{len(created.run_ids)} runs ({baselines} baseline"
                  f"{'s' if baselines != 1 else ''})")
        if not wait:
            err.print(f"follow it with: squeezelab status {created.id} --wait")
            out.print(created.id)  # stdout holds the id alone, for scripts
            return
        raise typer.Exit(_wait(client, created.id, interval))


def _upload(client: Client, path: Path, name: str | None = None) -> Upload:
    size = path.stat().st_size
    with err.status(f"uploading {escape(path.name)} ({size / 2**20:.1f} MiB)"):
        uploaded = client.upload_file(path, name=name)
    err.print(f"uploaded {escape(uploaded.name)} ({uploaded.size:,} bytes): {uploaded.ref}")
    return uploaded


def with_weights(spec: Path, ref: str) -> dict[str, Any]:
    """The spec in ``spec`` with ``baseline.weights`` set to ``ref`` (epochs left out)."""
    data = yaml.safe_load(spec.read_text())
    if not isinstance(data, dict):
        raise typer.BadParameter("the spec must be a mapping", param_hint="SPEC")
    baseline = {k: v for k, v in dict(data.get("baseline") or {}).items() if k != "epochs"}
    return {**data, "baseline": {**baseline, "weights": ref}}


def upload(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="The file, e.g. pretrained weights.")],
    name: Annotated[str | None, typer.Option(help="Stored name (default: the file's).")] = None,
) -> None:
    """Upload a file; prints the ref a spec names it by (baseline: {weights: <ref>})."""
    api = remote(ctx)
    with api_errors(api.api_url), api.client() as client:
        out.print(_upload(client, path, name).ref)  # stdout holds the ref alone, for scripts


def status(ctx: typer.Context, sweep: SweepArg, wait: WaitOpt = False,
           interval: IntervalOpt = POLL_S) -> None:
    """A sweep's status, its runs by status and its gate result."""
    api = remote(ctx)
    with api_errors(api.api_url), api.client() as client:
        if wait:
            raise typer.Exit(_wait(client, sweep, interval))
        print_sweep(client.get_sweep(sweep))


def print_sweep(sweep: Sweep) -> None:
    """Header, runs by status, gates."""
    for line in (sweep_header(sweep), counts_line(sweep.counts), *gates_lines(sweep)):
        out.print(line)


def print_runs(runs: list[Run], title: str) -> None:
    """The runs table, then the errors of the runs that have one, in full."""
    out.print(runs_table(runs, title=title))
    for line in error_lines(runs):
        out.print(line)


def _wait(client: Client, sweep_id: int, interval: float) -> int:
    """Follow the sweep, then print the results table and gates; returns the exit code."""
    # A wrong id fails here, before the display starts.
    err.print(sweep_header(client.get_sweep(sweep_id)))
    outcome = watch(client, sweep_id, console=err, interval=interval)
    if outcome is None:
        err.print(f"detached: sweep {sweep_id} keeps running. "
                  f"Resume watching with: squeezelab status {sweep_id} --wait")
        return DETACHED
    print_runs(outcome.runs, f"sweep {sweep_id} {outcome.sweep.name}: results")
    print_sweep(outcome.sweep)
    return 0 if outcome.all_succeeded else 1


def runs(
    ctx: typer.Context,
    sweep: SweepArg,
    status: Annotated[str | None, typer.Option(
        help="Only runs with this status (queued, running, succeeded, failed, cancelled).")
    ] = None,
    sort: Annotated[str, typer.Option(
        help="A column or summary.<path>; a leading '-' sorts descending, "
             "e.g. -summary.accuracy.")] = "id",
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many runs.")] = 200,
) -> None:
    """A table of a sweep's runs with their summary figures."""
    api = remote(ctx)
    with api_errors(api.api_url), api.client() as client:
        found = client.get_sweep(sweep)
        pages = client.iter_runs(sweep_id=sweep, status=status, sort=sort,
                                 page_size=min(limit + 1, 1000))
        shown = list(islice(pages, limit + 1))  # one more tells whether some were left out
        print_runs(shown[:limit], f"sweep {sweep} {found.name}: runs")
        if len(shown) > limit:
            err.print(f"showing the first {limit} runs; raise --limit for more")


def cancel(
    ctx: typer.Context,
    sweep: Annotated[int | None, typer.Argument(min=1, show_default=False,
                                                help="The sweep to cancel.")] = None,
    run: Annotated[int | None, typer.Option("--run", min=1, show_default=False,
                                            help="Cancel this one run instead.")] = None,
) -> None:
    """Cancel a sweep's queued and running runs, or one run with --run."""
    if (sweep is None) == (run is None):
        err.print("[red]error:[/] give a sweep id or --run RUN (one of them)")
        raise typer.Exit(2)
    api = remote(ctx)
    with api_errors(api.api_url), api.client() as client:
        if run is not None:
            cancelled = client.cancel_run(run)
            out.print(f"run {cancelled.id} {escape(cancelled.name)}: {cancelled.status}")
        elif sweep is not None:
            print_sweep(client.cancel_sweep(sweep))
