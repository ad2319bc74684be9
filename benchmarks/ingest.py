"""Metric ingestion through HTTP into PostgreSQL, one uvicorn process; target >= 100k pts/s.

Usage: .venv/bin/python benchmarks/ingest.py [--points 400000] [--concurrency 8]
Bodies are serialised before timing, so the figure is the server's (client on the same host).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from sweep_create import DEFAULT_ADMIN_URL, fresh_database, thousand_run_spec


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


def _bodies(run_id: int, batch: int, total: int) -> list[bytes]:
    bodies = []
    for start in range(0, total, batch):
        points = [{"key": "train/loss", "step": s, "value": 1.0 / (s + 1), "wall_time": 1.7e9}
                  for s in range(start, min(start + batch, total))]
        bodies.append(json.dumps({"points": points}).encode())
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--points", type=int, default=400_000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    rows = []
    with fresh_database(args.admin_url) as url:
        port = _free_port()
        env = {**os.environ, "SQUEEZELAB_DATABASE_URL": url, "SQUEEZELAB_AUTH": "off"}
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.asgi:app", "--port", str(port),
             "--log-level", "warning", "--no-access-log"], env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base)
            with httpx.Client(base_url=base, timeout=60.0,
                              headers={"content-type": "application/json"}) as client:
                run_ids = client.post("/api/v1/sweeps",
                                      json=thousand_run_spec("ingest")).json()["run_ids"]
                for i, batch in enumerate((1_000, 5_000, 10_000)):
                    bodies = _bodies(run_ids[i], batch, args.points)

                    def post(body: bytes, rid: int = run_ids[i]) -> int:
                        r = client.post(f"/api/v1/runs/{rid}/metrics", content=body)
                        r.raise_for_status()
                        inserted: int = r.json()["inserted"]
                        return inserted

                    started = time.perf_counter()
                    with ThreadPoolExecutor(args.concurrency) as pool:
                        inserted = sum(pool.map(post, bodies))
                    elapsed = time.perf_counter() - started
                    assert inserted == args.points, inserted
                    rows.append((batch, len(bodies), elapsed, args.points / elapsed))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"| batch | requests | seconds | points/s | target | concurrency {args.concurrency} |")
    print("|---|---|---|---|---|---|")
    for batch, requests, elapsed, rate in rows:
        print(f"| {batch} | {requests} | {elapsed:.2f} | {rate:,.0f} | >= 100,000 | |")


if __name__ == "__main__":
    main()
