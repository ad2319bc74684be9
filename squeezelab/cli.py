"""The ``squeezelab`` console script."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from squeezelab import local_cmd

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Experiment tracking for model-compression sweeps.")


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
    raise typer.Exit(local_cmd.run(spec, out=out, workdir=workdir))


@app.command("tasks")
def tasks() -> None:
    """List the registered tasks."""
    local_cmd.print_tasks()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
