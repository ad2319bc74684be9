"""Read a 100k-point series downsampled to 1,000 buckets with >= 10M points in the table,
on PostgreSQL; target <= 50 ms server time (the service call, timed in process).

Usage: .venv/bin/python benchmarks/series_read.py [--filler 10000000]
"""

from __future__ import annotations

import argparse
import statistics
import time

from sqlalchemy import text
from sweep_create import DEFAULT_ADMIN_URL, fresh_database, thousand_run_spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--filler", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.services.series import series
    from api.settings import Settings

    with fresh_database(args.admin_url) as url:
        app = create_app(Settings(database_url=url, auth="off"))
        client = TestClient(app)
        run_ids = client.post("/api/v1/sweeps", json=thousand_run_spec("read")).json()["run_ids"]
        started = time.perf_counter()
        with app.state.db.engine.begin() as conn:
            # Filler: 100 runs x 100k steps on another key; then the series we read.
            conn.execute(text(
                "INSERT INTO metric_points (run_id, key, step, value, wall_time) "
                "SELECT :first + (g / 100000), 'train/loss', g % 100000, random(), 0 "
                "FROM generate_series(0, :n - 1) AS g"),
                {"first": run_ids[1], "n": args.filler})
        load_s = time.perf_counter() - started
        for start in range(0, 100_000, 10_000):  # the series itself goes through ingestion
            points = [{"key": "val/accuracy", "step": s, "value": (s % 977) / 977}
                      for s in range(start, start + 10_000)]
            assert client.post(f"/api/v1/runs/{run_ids[0]}/metrics",
                               json={"points": points}).json()["inserted"] == 10_000
        with app.state.db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        with app.state.db.session() as session:
            total = session.execute(text("SELECT count(*) FROM metric_points")).scalar_one()
            times = []
            for _ in range(args.repeats + 2):
                t0 = time.perf_counter()
                result = series(session, run_ids[0], "val/accuracy", 1000)
                times.append(time.perf_counter() - t0)
            assert result.total_points == 100_000 and len(result.buckets) <= 1000
        http = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            client.get(f"/api/v1/runs/{run_ids[0]}/series",
                       params={"key": "val/accuracy", "buckets": 1000}).raise_for_status()
            http.append(time.perf_counter() - t0)
        app.state.db.dispose()
    times = times[2:]  # the first calls warm the cache
    print(f"table: {total:,} points (loaded in {load_s:.0f} s)")
    print("| series | buckets | median ms | p90 ms | target |")
    print("|---|---|---|---|---|")
    p90 = sorted(times)[int(0.9 * len(times))]
    print(f"| 100,000 points, service call | {len(result.buckets)} | "
          f"{statistics.median(times) * 1e3:.1f} | {p90 * 1e3:.1f} | <= 50 ms |")
    print(f"| same, in-process HTTP round trip | {len(result.buckets)} | "
          f"{statistics.median(http) * 1e3:.1f} | {sorted(http)[int(0.9 * len(http))] * 1e3:.1f}"
          " | |")


if __name__ == "__main__":
    main()
