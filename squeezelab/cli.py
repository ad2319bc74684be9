"""The ``squeezelab`` console script.

``local`` and ``tasks`` run in this process (and import torch, so they import it lazily:
the commands that talk to the API start in well under a second). The others talk to the
API at ``--api-url`` with ``--token``, both also read from the environment.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from compression.spec.versions import squeezelab_version
from squeezelab import api_cmd, ci_cmd, logs_cmd, remote_cmd, service_cmd, token_cmd, trigger_cmd
from squeezelab.extras import ENGINE, require
from squeezelab.remote import DEFAULT_API_URL, Remote

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Experiment tracking for model-compression sweeps.")


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"squeezelab {squeezelab_version()}")
        raise typer.Exit()


@app.callback()
def _remote_options(
    ctx: typer.Context,
    api_url: Annotated[str, typer.Option(
        "--api-url", envvar="SQUEEZELAB_API_URL", help="The squeezelab API.")] = DEFAULT_API_URL,
    token: Annotated[str | None, typer.Option(
        "--token", envvar="SQUEEZELAB_TOKEN", show_default=False,
        help="API token (needs read; write to submit or cancel; admin for tokens and "
             "triggers).")] = None,
    _version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="Print squeezelab's version and exit.")] = False,
) -> None:
    """Experiment tracking for model-compression sweeps."""
    ctx.obj = Remote(api_url, token or None)


@app.command("local")
def local(
    spec: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="Sweep spec (YAML or JSON).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write results.json.")] = Path(
        "results.json"),
    workdir: Annotated[Path | None, typer.Option(
        help="Artifacts directory (default: .squeezelab/local/<sweep name>).")] = None,
) -> None:
    """Run a whole sweep in this process and print a results table."""
    require("squeezelab local", "worker", ENGINE)
    from squeezelab import local_cmd

    raise typer.Exit(local_cmd.run(spec, out=out, workdir=workdir))


@app.command("tasks")
def tasks(
    check: Annotated[bool, typer.Option(
        "--check", help="Build each task and run one batch through it (model, data, loss, "
                        "metrics); exit 1 when one fails.")] = False,
    spec: Annotated[Path | None, typer.Option(
        "--spec", exists=True, dir_okay=False, readable=True,
        help="With --check: check the task of this sweep spec (an inline task) instead.")
    ] = None,
) -> None:
    """List the registered tasks, or check that they work."""
    require("squeezelab tasks", "worker", ENGINE)
    from squeezelab import local_cmd

    if check or spec is not None:
        raise typer.Exit(local_cmd.check_tasks(spec))
    local_cmd.print_tasks()


app.command("submit")(remote_cmd.submit)
app.command("upload")(remote_cmd.upload)
app.command("status")(remote_cmd.status)
app.command("runs")(remote_cmd.runs)
app.command("cancel")(remote_cmd.cancel)
app.command("logs")(logs_cmd.logs)
app.add_typer(token_cmd.app, name="token")
app.command("ci")(ci_cmd.ci)
app.add_typer(trigger_cmd.app, name="trigger")
app.command("api")(api_cmd.serve)
app.command("worker")(service_cmd.worker)
app.command("up")(service_cmd.up)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
