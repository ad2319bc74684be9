"""Create a sweep of 1,000 runs through the API on PostgreSQL; target <= 1 s.

Usage: .venv/bin/python benchmarks/sweep_create.py [--admin-url postgresql+psycopg://...]
Prints a table; creates a scratch database and drops it afterwards.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.migrate import upgrade

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A migrated scratch PostgreSQL database, dropped on exit."""
    name = f"squeezelab_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def thousand_run_spec(name: str) -> dict[str, Any]:
    """10 seeds x (1 baseline + 99 AGP sparsities) = 1,000 runs."""
    return {"name": name, "task": "digits-mlp", "seeds": list(range(10)),
            "recipes": [{"name": "agp", "prune": {"granularity": "unstructured"},
                         "schedule": {"kind": "agp", "end_epoch": 5,
                                      "final_sparsity": [round(0.01 * i, 2)
                                                         for i in range(1, 100)]},
                         "finetune": {"epochs": 5}}]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings

    with fresh_database(args.admin_url) as url:
        app = create_app(Settings(database_url=url, auth="off"))
        times = []
        with TestClient(app) as client:
            client.post("/api/v1/sweeps", json=thousand_run_spec("warmup"))
            for i in range(args.repeats):
                started = time.perf_counter()
                response = client.post("/api/v1/sweeps", json=thousand_run_spec(f"s{i}"))
                times.append(time.perf_counter() - started)
                assert response.status_code == 201, response.text
                assert len(response.json()["run_ids"]) == 1000
        app.state.db.dispose()
    print("| what | runs | median s | min s | max s | target |")
    print("|---|---|---|---|---|---|")
    print(f"| POST /api/v1/sweeps (in-process HTTP, PostgreSQL) | 1000 | "
          f"{statistics.median(times):.3f} | {min(times):.3f} | {max(times):.3f} | <= 1 s |")


if __name__ == "__main__":
    main()
