"""Many concurrent clients against one API process: latency, status counts, health latency.

Usage: .venv/bin/python benchmarks/load.py [--clients 100,300,1000] [--seconds 20]
       [--path '/api/v1/runs?limit=5'] [--admin-url postgresql+psycopg://postgres@...]

One ``squeezelab`` API (uvicorn, auth on, PostgreSQL) serves a sweep of 1,000 runs. For each
level, that many clients (one keep-alive connection each, in a separate load process) send
the request in a loop for --seconds; every response is counted by status, and every
transport failure (reset, refused, client timeout) by kind. Meanwhile a prober process, on
its own connection, asks /healthz and /readyz every 50 ms and records how long each took.
The table shows what the issue asks of the API at each level: only 2xx or 503 (with
Retry-After), no resets, and health p99 within 100 ms. Client, prober, API and PostgreSQL
share this host's cores, so req/s is the whole host's figure, not the API's alone; the load
process runs at niceness 10 (it stands for clients elsewhere), the prober at normal priority.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from ingest import _free_port, _wait_ready
from sweep_create import DEFAULT_ADMIN_URL, fresh_database, thousand_run_spec

ADMIN_TOKEN = "sqz_load-benchmark-admin-token"
CLIENT_TIMEOUT_S = 30.0
# The load process stands for clients on other machines: on this shared host it runs at a
# lower priority, so that its CPU use does not count as the API's slowness.
LOAD_NICENESS = 10


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---- the load process: N clients, one connection each -------------------------------------

class _Reply:
    def __init__(self, status: int, headers: dict[str, str]) -> None:
        self.status, self.headers = status, headers


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes) -> _Reply:
    """One HTTP/1.1 request on a kept-alive connection; the body is read and dropped."""
    writer.write(request)
    await writer.drain()
    status_line = await reader.readuntil(b"\r\n")
    headers: dict[str, str] = {}
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    await reader.readexactly(int(headers.get("content-length", "0")))
    return _Reply(int(status_line.split()[1]), headers)


async def _client(host: str, port: int, path: str, stop_at: float,
                  out: dict[str, list]) -> None:
    """One client: a plain asyncio HTTP/1.1 connection, so that a thousand of them cost the
    load process little CPU (an httpx client each would cost more than the API)."""
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
               f"Authorization: Bearer {ADMIN_TOKEN}\r\n\r\n").encode()
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while time.monotonic() < stop_at:
        started = time.perf_counter()
        try:
            if conn is None:
                conn = await asyncio.wait_for(asyncio.open_connection(host, port),
                                              CLIENT_TIMEOUT_S)
            reply = await asyncio.wait_for(_exchange(*conn, request), CLIENT_TIMEOUT_S)
        except TimeoutError:
            out["errors"].append("timeout")
            _drop(conn)
            conn = None
            continue
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            out["errors"].append(type(exc).__name__)  # reset, refused, cut short
            _drop(conn)
            conn = None
            await asyncio.sleep(0.1)  # back off a little before reconnecting
            continue
        elapsed = time.perf_counter() - started
        retry_after = reply.headers.get("retry-after")
        out["results"].append((reply.status, elapsed, retry_after is not None))
        if reply.headers.get("connection", "").lower() == "close":
            _drop(conn)
            conn = None
        if reply.status == 503:
            # A well-behaved client honours Retry-After (capped: this is a benchmark).
            await asyncio.sleep(min(float(retry_after or 1), 1.0))
    _drop(conn)


def _drop(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
    if conn is not None:
        conn[1].close()


async def _load(port: int, path: str, clients: int, seconds: float) -> dict[str, list]:
    out: dict[str, list] = {"results": [], "errors": []}
    stop_at = time.monotonic() + seconds
    await asyncio.gather(*(_client("127.0.0.1", port, path, stop_at, out)
                           for _ in range(clients)))
    return out


def load_main(port: int, path: str, clients: int, seconds: float) -> None:
    out = asyncio.run(_load(port, path, clients, seconds))
    json.dump(out, sys.stdout)


# ---- the prober process: /healthz and /readyz every 50 ms --------------------------------

def probe_main(port: int, seconds: float) -> None:
    samples: dict[str, list[float]] = {"/healthz": [], "/readyz": []}
    failures: Counter[str] = Counter()
    stop_at = time.monotonic() + seconds
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT_S)
    while time.monotonic() < stop_at:
        for path in samples:
            started = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
            except OSError as exc:
                failures[f"{path} {type(exc).__name__}"] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT_S)
                continue
            samples[path].append(time.perf_counter() - started)
            if response.status != 200:
                failures[f"{path} {response.status}"] += 1
        time.sleep(0.05)  # the probe interval, not a wait for a result
    json.dump({"samples": samples, "failures": dict(failures)}, sys.stdout)


# ---- the orchestration --------------------------------------------------------------------

@dataclass
class Level:
    clients: int
    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    ok_latencies: list[float] = field(default_factory=list)
    unavailable_without_retry_after: int = 0
    health: list[float] = field(default_factory=list)
    ready: list[float] = field(default_factory=list)
    probe_failures: dict[str, int] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def bad_5xx(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 500 and s != 503)


def _run_level(port: int, path: str, clients: int, seconds: float) -> Level:
    me = os.path.abspath(__file__)
    load = subprocess.Popen([sys.executable, me, "--role", "load", "--port", str(port),
                             "--path", path, "--clients", str(clients),
                             "--seconds", str(seconds)], stdout=subprocess.PIPE,
                            preexec_fn=lambda: os.nice(LOAD_NICENESS))
    probe = subprocess.Popen([sys.executable, me, "--role", "probe", "--port", str(port),
                              "--seconds", str(seconds)], stdout=subprocess.PIPE)
    load_out, _ = load.communicate(timeout=seconds + 4 * CLIENT_TIMEOUT_S)
    probe_out, _ = probe.communicate(timeout=seconds + 4 * CLIENT_TIMEOUT_S)
    level = Level(clients, seconds)
    loaded = json.loads(load_out)
    for status, elapsed, has_retry_after in loaded["results"]:
        level.statuses[status] += 1
        level.latencies.append(elapsed)
        if 200 <= status < 300:
            level.ok_latencies.append(elapsed)
        if status == 503 and not has_retry_after:
            level.unavailable_without_retry_after += 1
    level.errors.update(loaded["errors"])
    probed = json.loads(probe_out)
    level.health = probed["samples"]["/healthz"]
    level.ready = probed["samples"]["/readyz"]
    level.probe_failures = probed["failures"]
    return level


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}" if seconds == seconds else "-"


def _print(levels: list[Level]) -> None:
    head = (f"{'clients':>7} {'req/s':>6} {'2xx':>6} {'503':>6} {'5xx!':>5} {'4xx':>4} "
            f"{'errors':>6} {'p50 ms':>7} {'p99 ms':>7} {'2xx p99':>7} "
            f"{'healthz p99':>11} {'readyz p99':>10} {'probe fail':>10}")
    print(head)
    print("-" * len(head))
    for lv in levels:
        ok = sum(n for s, n in lv.statuses.items() if 200 <= s < 300)
        c4 = sum(n for s, n in lv.statuses.items() if 400 <= s < 500)
        print(f"{lv.clients:>7} {lv.requests / lv.seconds:>6.0f} {ok:>6} "
              f"{lv.statuses.get(503, 0):>6} {lv.bad_5xx:>5} {c4:>4} "
              f"{sum(lv.errors.values()):>6} {_ms(_percentile(lv.latencies, 0.5)):>7} "
              f"{_ms(_percentile(lv.latencies, 0.99)):>7} "
              f"{_ms(_percentile(lv.ok_latencies, 0.99)):>7} "
              f"{_ms(_percentile(lv.health, 0.99)):>11} {_ms(_percentile(lv.ready, 0.99)):>10} "
              f"{sum(lv.probe_failures.values()):>10}")
    for lv in levels:
        extra = []
        if lv.errors:
            extra.append(f"transport errors {dict(lv.errors)}")
        if lv.unavailable_without_retry_after:
            extra.append(f"{lv.unavailable_without_retry_after} 503 without Retry-After")
        if lv.probe_failures:
            extra.append(f"probe failures {lv.probe_failures}")
        others = {s: n for s, n in lv.statuses.items() if s not in (200, 503)}
        if others:
            extra.append(f"other statuses {others}")
        if lv.health:
            extra.append(f"healthz p50 {_ms(statistics.median(lv.health))} ms, "
                         f"readyz p50 {_ms(statistics.median(lv.ready))} ms "
                         f"({len(lv.health)} probes)")
        print(f"{lv.clients} clients: " + "; ".join(extra))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--clients", default="100,300,1000")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--path", default="/api/v1/runs?limit=5")
    parser.add_argument("--role", choices=("main", "load", "probe"), default="main")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--server-log", default=os.devnull, help="where the API's output goes")
    parser.add_argument("--env", action="append", default=[],
                        help="NAME=VALUE for the API process (e.g. SQUEEZELAB_DB_POOL_SIZE=20)")
    args = parser.parse_args()
    if args.role == "load":
        load_main(args.port, args.path, int(args.clients), args.seconds)
        return
    if args.role == "probe":
        probe_main(args.port, args.seconds)
        return
    levels: list[Level] = []
    with fresh_database(args.admin_url) as url:
        port = _free_port()
        log = open(args.server_log, "wb")  # noqa: SIM115 - closed in finally
        env = {**os.environ, "SQUEEZELAB_DATABASE_URL": url, "SQUEEZELAB_AUTH": "on",
               "SQUEEZELAB_ADMIN_TOKEN": ADMIN_TOKEN,
               **dict(item.split("=", 1) for item in args.env)}
        server = subprocess.Popen(
            [sys.executable, "-m", "squeezelab", "api", "--port", str(port)], env=env,
            stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, deadline_s=60.0)
            headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            created = httpx.post(f"{base}/api/v1/sweeps", json=thousand_run_spec("load"),
                                 headers=headers, timeout=120.0)
            created.raise_for_status()
            for clients in (int(c) for c in args.clients.split(",")):
                levels.append(_run_level(port, args.path, clients, args.seconds))
                time.sleep(2.0)  # let the server drain between levels
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
    print(f"GET {args.path}, {args.seconds:.0f} s per level, one API process "
          f"({os.cpu_count()} cores on this host, shared with client and PostgreSQL)\n")
    _print(levels)


if __name__ == "__main__":
    main()
