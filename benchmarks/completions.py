"""Completing the runs of one big sweep: completions/s from concurrent workers, one API.

Usage: .venv/bin/python benchmarks/completions.py [--runs 1000,10000] [--clients 8]
       [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

For each size, a scratch PostgreSQL database (created and dropped here) and one API process
(``squeezelab api``: uvicorn, auth on) hold one sweep of that many runs: one baseline and
its compress runs. The baseline is claimed and completed first (not timed). Then --clients
threads, each a worker with its own keep-alive connection and the same worker token, claim
every compress run (the claims/s column), then complete every one: the headline is
completions/s over that phase, with the latency of each complete request. Client, API and
PostgreSQL share this host's cores; the CPU columns say where the time went, per
completion. A run's end used to count all the sweep's runs under the sweep's row lock (about
30 completions/s at 10,000 runs, falling as the sweep grows); with the counter of unfinished
runs it should not depend on the size. Target: >= 300 completions/s at 10,000 runs, 8 clients.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
from ingest import Cpu, CpuMeter, _free_port, _wait_ready
from sweep_create import DEFAULT_ADMIN_URL, fresh_database

ADMIN_TOKEN = "sqz_completions-benchmark-admin-token"
SUMMARY = {"accuracy": 0.91, "baseline_accuracy": 0.93, "accuracy_drop": 0.02,
           "sparsity": 0.5}


def sweep_of(runs: int) -> dict[str, Any]:
    """One seed: 1 baseline + (runs - 1) AGP sparsities = ``runs`` runs."""
    n = runs - 1
    return {"name": f"completions-{runs}", "task": "digits-mlp", "seeds": [0],
            "recipes": [{"name": "agp", "prune": {"granularity": "unstructured"},
                         "schedule": {"kind": "agp", "end_epoch": 2,
                                      "final_sparsity": [round((i + 1) / (n + 1), 7)
                                                         for i in range(n)]},
                         "finetune": {"epochs": 2}}]}


@dataclass
class Phase:
    """One timed phase: every run through one request kind, from all clients at once."""

    requests: int
    seconds: float
    latencies_s: list[float]
    cpu: Cpu

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def quantile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies_s)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _each(clients: list[httpx.Client], run_ids: list[int],
          request: Callable[[httpx.Client, int], httpx.Response], meter: CpuMeter) -> Phase:
    """Send ``request`` for every run, the runs dealt round-robin to the clients."""

    def work(index: int) -> list[float]:
        client, latencies = clients[index], []
        for run_id in run_ids[index::len(clients)]:
            started = time.perf_counter()
            response = request(client, run_id)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"run {run_id}: {response.status_code} {response.text}")
        return latencies

    with meter.measure() as cpu, ThreadPoolExecutor(len(clients)) as pool:
        started = time.perf_counter()
        latencies = [s for part in pool.map(work, range(len(clients))) for s in part]
        elapsed = time.perf_counter() - started
    return Phase(len(run_ids), elapsed, latencies, cpu[0])


def _claim(client: httpx.Client, run_id: int) -> httpx.Response:
    return client.post(f"/api/v1/runs/{run_id}/claim", json={"worker_id": _worker(client)})


def _complete(client: httpx.Client, run_id: int) -> httpx.Response:
    return client.post(f"/api/v1/runs/{run_id}/complete",
                       json={"worker_id": _worker(client), "summary": SUMMARY})


def _worker(client: httpx.Client) -> str:
    return str(client.headers["x-bench-worker"])


def measure(admin_url: str, runs: int, clients: int) -> tuple[Phase, Phase]:
    """Claim, then complete, every compress run of a ``runs``-run sweep."""
    with fresh_database(admin_url) as url, tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        env = {**os.environ, "SQUEEZELAB_DATABASE_URL": url, "SQUEEZELAB_AUTH": "on",
               "SQUEEZELAB_ADMIN_TOKEN": ADMIN_TOKEN, "SQUEEZELAB_ARTIFACT_DIR": tmp,
               "SQUEEZELAB_LEASE_SECONDS": "3600", "SQUEEZELAB_RECONCILE_INTERVAL_S": "0",
               "SQUEEZELAB_STATUS_POLL_INTERVAL_S": "0"}
        server = subprocess.Popen([sys.executable, "-m", "squeezelab", "api", "--host",
                                   "127.0.0.1", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        meter = CpuMeter(server.pid, url)
        pool: list[httpx.Client] = []
        try:
            _wait_ready(base)
            admin = httpx.Client(base_url=base, timeout=120.0,
                                 headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
            pool.append(admin)
            token = admin.post("/api/v1/tokens", json={"name": "bench", "scopes": ["worker"]})
            token.raise_for_status()
            created = admin.post("/api/v1/sweeps", json=sweep_of(runs))
            created.raise_for_status()
            sweep = created.json()
            (baseline,) = sweep["baseline_run_ids"]
            compress = [r for r in sweep["run_ids"] if r != baseline]
            auth = {"Authorization": f"Bearer {token.json()['token']}"}
            pool += [httpx.Client(base_url=base, timeout=120.0,
                                  headers={**auth, "x-bench-worker": f"bench-{i}"})
                     for i in range(clients)]
            workers = pool[1:]
            for request in (_claim, _complete):  # the baseline, which releases the rest
                request(workers[0], baseline).raise_for_status()
            claims = _each(workers, compress, _claim, meter)
            completions = _each(workers, compress, _complete, meter)
            ended = admin.get(f"/api/v1/sweeps/{sweep['id']}").json()
            if ended["status"] != "succeeded":
                raise RuntimeError(f"the sweep ended {ended['status']}: {ended}")
        finally:
            for client in pool:
                client.close()
            meter.close()
            server.terminate()
            server.wait(timeout=30)
    return claims, completions


def _ms_each(seconds: float | None, n: int) -> str:
    return "n/a" if seconds is None else f"{1000 * seconds / n:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--runs", default="1000,10000",
                        help="sweep sizes, comma-separated (at most SQUEEZELAB_MAX_RUNS)")
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    sizes = [int(s) for s in args.runs.split(",")]
    rows = [(n, *measure(args.admin_url, n, args.clients)) for n in sizes]
    print("| runs | clients | claims/s | complete: seconds | completions/s | p50 ms | "
          "p99 ms | CPU ms per completion: API / PostgreSQL / client | target |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, claims, done in rows:
        c = done.cpu
        cpu = " / ".join(_ms_each(s, done.requests) for s in (c.api, c.postgres, c.client))
        print(f"| {n:,} | {args.clients} | {claims.rate:,.0f} | {done.seconds:.1f} | "
              f"{done.rate:,.0f} | {done.quantile_ms(0.5):.1f} | {done.quantile_ms(0.99):.1f} "
              f"| {cpu} | >= 300/s at 10,000 |")
    print(f"\n{os.cpu_count()} cores; load average (1 min) {os.getloadavg()[0]:.1f} after. "
          "Completions are timed apart from claims; each completes a claimed compress run "
          "of the same sweep. Latency: one complete request, as the client saw it.")
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        print(f"Completions/s at {last[0]:,} runs vs {first[0]:,}: "
              f"{last[2].rate / first[2].rate:.2f}x (median latency "
              f"{statistics.median(last[2].latencies_s) * 1000:.1f} vs "
              f"{statistics.median(first[2].latencies_s) * 1000:.1f} ms).")


if __name__ == "__main__":
    main()
