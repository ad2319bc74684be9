"""``squeezelab worker`` and ``squeezelab up``: the processes that execute runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from squeezelab.extras import require


def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated queues to consume: cpu, gpu.")
                      ] = "cpu,gpu",
    concurrency: Annotated[int, typer.Option(min=1, help="Runs executed at once.")] = 1,
    name: Annotated[str | None, typer.Option(
        help="Worker id shown by the API (default: <queues>-<pid>@<hostname>).")] = None,
    gpus: Annotated[str | None, typer.Option(
        help="GPU indices (0,1): one worker process per GPU, each seeing only its own "
             "device, consuming the gpu queue (unless --queues says otherwise).")] = None,
) -> None:
    """Execute runs from the broker (SQUEEZELAB_BROKER_URL), reporting to the API
    (SQUEEZELAB_API_URL) with a worker token (SQUEEZELAB_TOKEN)."""
    require("squeezelab worker", "worker")
    chosen = [q.strip() for q in queues.split(",") if q.strip()]
    if gpus is not None:
        from workers.gpus import parse_gpus, pinned_workers, supervise

        try:
            devices = parse_gpus(gpus)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--gpus") from None
        if concurrency != 1:
            raise typer.BadParameter("one process per GPU: leave --concurrency at 1",
                                     param_hint="--concurrency")
        pinned = ["gpu"] if queues == "cpu,gpu" else chosen
        raise typer.Exit(supervise(pinned_workers(devices, queues=pinned, name=name)))
    from workers.main import run_worker  # imports torch: only this command needs it
    from workers.settings import WorkerSettings

    try:
        run_worker(WorkerSettings(), queues=chosen, concurrency=concurrency, name=name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--queues") from None


def up(
    home: Annotated[Path, typer.Option(envvar="SQUEEZELAB_HOME",
                                       help="Where the database, broker and artifacts live.")
                    ] = Path(".squeezelab"),
    host: Annotated[str, typer.Option(help="Interface the API listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="The API's port.")] = 8000,
    concurrency: Annotated[int, typer.Option(min=1, help="Runs executed at once.")] = 1,
) -> None:
    """Run everything on this machine: the API (and dashboard) and one worker, with SQLite
    and a server-less broker. Ctrl-C stops it; a restart keeps all data."""
    require("squeezelab up", "all")
    from squeezelab.up_cmd import Embedded, run

    raise typer.Exit(run(Embedded(home, host, port), concurrency=concurrency))
