"""Metric ingestion through HTTP into PostgreSQL, one uvicorn process; target >= 100k pts/s.

Usage: .venv/bin/python benchmarks/ingest.py [--points 400000] [--concurrency 8] [--rounds 3]
Bodies are serialised before timing, so the figure is the server's (client on the same host).
Each round posts --points new points per batch size to a fresh run (sizes interleaved, so
load from other jobs on the host spreads over all of them); the table gives the median
round and the range. Where the API and PostgreSQL run on this host, it also says where the
CPU went (read from /proc), which is what limits ingestion when the cores are saturated.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy import create_engine, text
from sweep_create import DEFAULT_ADMIN_URL, fresh_database, thousand_run_spec

SIZES = (1_000, 5_000, 10_000)
TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_ready(base: str, deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)  # polling a starting server, not a test
    raise RuntimeError("uvicorn did not become ready")


def _bodies(batch: int, total: int) -> list[bytes]:
    bodies = []
    for start in range(0, total, batch):
        points = [{"key": "train/loss", "step": s, "value": 1.0 / (s + 1), "wall_time": 1.7e9}
                  for s in range(start, min(start + batch, total))]
        bodies.append(json.dumps({"points": points}).encode())
    return bodies


def _process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process on this host, or None where it is not here."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * TICK_S


def _host_busy_s() -> float:
    """CPU seconds the whole host spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(
            int, f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) * TICK_S


@dataclass
class Cpu:
    """CPU seconds used during one timed phase, by whom."""

    api: float | None
    postgres: float | None
    client: float
    host: float


class CpuMeter:
    """Samples the CPU time of the API process, of the PostgreSQL backends serving the
    benchmark database (their pids from pg_stat_activity) and of this client process."""

    def __init__(self, api_pid: int, database_url: str) -> None:
        self.api_pid = api_pid
        self.engine = create_engine(database_url, pool_size=1)

    def _backends(self) -> dict[int, float | None]:
        with self.engine.connect() as conn:
            pids = conn.execute(text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalars()
            return {pid: _process_cpu_s(pid) for pid in pids}

    @contextmanager
    def measure(self) -> Iterator[list[Cpu]]:
        out: list[Cpu] = []
        api0, pg0 = _process_cpu_s(self.api_pid), self._backends()
        client0, host0 = time.process_time(), _host_busy_s()
        yield out
        api1, pg1 = _process_cpu_s(self.api_pid), self._backends()
        client, host = time.process_time() - client0, _host_busy_s() - host0
        postgres: float | None = None
        if all(v is not None for v in [*pg0.values(), *pg1.values()]):
            # A backend that started during the phase counts in full; one that exited is
            # lost (the API's pool keeps its connections, so there are none after warm-up).
            postgres = sum(v - (pg0.get(pid) or 0.0) for pid, v in pg1.items() if v is not None)
        api = None if api0 is None or api1 is None else api1 - api0
        out.append(Cpu(api, postgres, client, host))

    def close(self) -> None:
        self.engine.dispose()


@dataclass
class Round:
    batch: int
    requests: int
    seconds: float
    cpu: Cpu

    @property
    def rate(self) -> float:
        return self.requests * self.batch / self.seconds


def _post_all(client: httpx.Client, run_id: int, bodies: list[bytes], concurrency: int) -> int:
    def post(body: bytes) -> int:
        r = client.post(f"/api/v1/runs/{run_id}/metrics", content=body)
        r.raise_for_status()
        inserted: int = r.json()["inserted"]
        return inserted

    with ThreadPoolExecutor(concurrency) as pool:
        return sum(pool.map(post, bodies))


def _ms_per_10k(seconds: float | None, points: int) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000 * 10_000 / points:.0f}"


def _print(rounds: list[Round], concurrency: int) -> None:
    print(f"| batch | requests | points/s (median) | range | target | CPU ms per 10k points: "
          f"API / PostgreSQL / client / other | host CPU busy | ceiling on idle cores "
          f"(concurrency {concurrency}, {len(rounds) // len(SIZES)} rounds) |")
    print("|---|---|---|---|---|---|---|---|")
    for size in SIZES:
        mine = sorted((r for r in rounds if r.batch == size), key=lambda r: r.rate)
        mid = mine[len(mine) // 2]
        points = mid.requests * mid.batch
        c = mid.cpu
        other = c.host - c.client - (c.api or 0.0) - (c.postgres or 0.0)
        split = " / ".join(_ms_per_10k(s, points) for s in (c.api, c.postgres, c.client, other))
        cores = os.cpu_count() or 1
        busy = c.host / mid.seconds / cores
        ours = None if c.api is None or c.postgres is None else c.api + c.postgres + c.client
        ceiling = "n/a" if not ours else f"{cores * points / ours:,.0f}"
        print(f"| {size:,} | {mid.requests} | {statistics.median(r.rate for r in mine):,.0f} | "
              f"{mine[0].rate:,.0f}-{mine[-1].rate:,.0f} | >= 100,000 | {split} | "
              f"{busy:.0%} of {cores} cores | {ceiling} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--points", type=int, default=400_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds: list[Round] = []
    load_before = os.getloadavg()
    bodies = {size: _bodies(size, args.points) for size in SIZES}
    with fresh_database(args.admin_url) as url:
        port = _free_port()
        env = {**os.environ, "SQUEEZELAB_DATABASE_URL": url, "SQUEEZELAB_AUTH": "off"}
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.asgi:app", "--port", str(port),
             "--log-level", "warning", "--no-access-log"], env=env)
        base = f"http://127.0.0.1:{port}"
        meter = CpuMeter(server.pid, url)
        try:
            _wait_ready(base)
            with httpx.Client(base_url=base, timeout=60.0,
                              headers={"content-type": "application/json"}) as client:
                run_ids = iter(client.post("/api/v1/sweeps",
                                           json=thousand_run_spec("ingest")).json()["run_ids"])
                # Warm-up: opens the pool's connections, so the timed rounds find them open.
                _post_all(client, next(run_ids), bodies[1_000][:4 * args.concurrency],
                          args.concurrency)
                for _ in range(args.rounds):
                    for size in SIZES:
                        with meter.measure() as cpu:
                            started = time.perf_counter()
                            inserted = _post_all(client, next(run_ids), bodies[size],
                                                 args.concurrency)
                            elapsed = time.perf_counter() - started
                        if inserted != args.points:
                            raise RuntimeError(f"{inserted} of {args.points} points stored")
                        rounds.append(Round(size, len(bodies[size]), elapsed, cpu[0]))
        finally:
            meter.close()
            server.terminate()
            server.wait(timeout=30)
    _print(rounds, args.concurrency)
    load_after = os.getloadavg()
    print(f"\nload average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after. "
          "'other': host CPU used by processes outside this benchmark in the same time. "
          "Ceiling: points/s if every core ran only this benchmark's API, PostgreSQL and "
          "client at the CPU cost measured (derived, not measured).")


if __name__ == "__main__":
    main()
