"""``squeezelab up``: the whole service on one machine, with nothing else to install.

It runs the API (and the dashboard it serves) and one worker on both queues as child
processes, with SQLite for the database and Celery's SQLAlchemy transport on a second SQLite
file as the broker, so no server is needed. Everything lives under ``$SQUEEZELAB_HOME``
(default ``./.squeezelab``), so a restart keeps all data. Ctrl-C stops both children; a run
that was interrupted is requeued by the reconciler and resumes from its last checkpoint.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

console = Console(stderr=True)


@dataclass(frozen=True)
class Embedded:
    """Where the embedded service keeps its data, and how its processes find each other."""

    home: Path
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        """The children's environment: embedded defaults, unless the user set a variable."""
        home = self.home.resolve()
        defaults = {
            "SQUEEZELAB_DATABASE_URL": f"sqlite:///{home / 'squeezelab.db'}",
            "SQUEEZELAB_BROKER_URL": f"sqla+sqlite:///{home / 'broker.sqlite'}",
            "SQUEEZELAB_ARTIFACT_DIR": str(home / "artifacts"),
            "SQUEEZELAB_WORKER_DIR": str(home / "worker"),
            "SQUEEZELAB_API_URL": self.url,
            # Local, single-user use: the API listens on loopback only by default.
            "SQUEEZELAB_AUTH": "off",
        }
        return {**defaults, **base}


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    # A new session: Ctrl-C reaches only this process, which then stops the children in order.
    return subprocess.Popen([sys.executable, "-m", "squeezelab", *args], env=env,
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_ready(url: str, api: subprocess.Popen[bytes], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if api.poll() is not None:
            return False
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def _stop(children: list[subprocess.Popen[bytes]], grace_s: float) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            # A worker in the middle of a long run: kill it; its run resumes on the next start.
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def run(embedded: Embedded, *, concurrency: int = 1, grace_s: float = 20.0) -> int:
    """Start the API and a worker, wait for Ctrl-C (or a child's death); returns the exit
    code."""
    # Ctrl-C and a service manager's SIGTERM both stop the children cleanly, even when this
    # process was started in the background (where SIGINT starts out ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    embedded.home.mkdir(parents=True, exist_ok=True)
    logs = embedded.home / "logs"
    logs.mkdir(exist_ok=True)
    env = embedded.environment(dict(os.environ))
    api = _spawn(["api", "--host", embedded.host, "--port", str(embedded.port)], env,
                 logs / "api.log")
    children = [api]
    try:
        if not _wait_ready(embedded.url, api, timeout_s=60):
            console.print(f"[red]the API did not start; see {logs / 'api.log'}[/red]")
            return 1
        children.append(_spawn(["worker", "--queues", "cpu,gpu", "--concurrency",
                                str(concurrency)], env, logs / "worker.log"))
        console.print(f"squeezelab is up at [bold]{embedded.url}[/bold]  "
                      f"(data in {embedded.home}, logs in {logs}); Ctrl-C stops it.")
        option = "" if embedded.url == "http://127.0.0.1:8000" else f"--api-url {embedded.url} "
        console.print(f"  submit a sweep:  squeezelab {option}submit examples/quick.yaml --wait")
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        dead = next(c for c in children if c.poll() is not None)
        name = "API" if dead is api else "worker"
        console.print(f"[red]the {name} exited with code {dead.returncode}; stopping. "
                      f"See {logs}[/red]")
        return 1
    except KeyboardInterrupt:
        console.print("stopping…")
        return 0
    finally:
        _stop(list(reversed(children)), grace_s)
