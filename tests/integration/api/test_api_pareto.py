"""The Pareto front and summary-field sorting read numbers only, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from apihelpers import assert_problem, claim, complete, small_spec, submit
from fastapi.testclient import TestClient


def _finish(client: TestClient, run_id: int, summary: dict[str, Any]) -> None:
    assert claim(client, run_id).status_code == 200
    done = complete(client, run_id, summary)
    assert done.status_code == 200, done.text


def _variants(client: TestClient, sweep_id: int) -> dict[str, list[int]]:
    runs = client.get("/api/v1/runs", params={"sweep_id": sweep_id, "limit": 100}).json()
    out: dict[str, list[int]] = {}
    for run in sorted(runs["items"], key=lambda r: r["seed"]):
        out.setdefault(run["variant"], []).append(run["id"])
    return out


def test_front_aggregates_seeds_and_skips_values_that_are_not_numbers(
        client: TestClient) -> None:
    created = submit(client, small_spec(seeds=[0, 1]))
    variants = _variants(client, created["id"])
    base, half, ninety = (variants[v] for v in sorted(variants, key=lambda v: (
        "baseline" not in v, v)))
    for run_id, acc in zip(base, (0.97, 0.99), strict=True):
        _finish(client, run_id, {"accuracy": acc, "sparsity": 0.0, "latency_ms": {}})
    # Extra keys are stored as sent: a string or a bool where a number was expected (a worker
    # bug) must leave the run out, not crash the query or count as 1.
    _finish(client, half[0], {"accuracy": 0.96, "sparsity": 0.5, "cost": 2,
                              "odd": {"a": "0.7"}})
    _finish(client, half[1], {"accuracy": 0.94, "sparsity": 0.5, "cost": "2"})
    for run_id, acc in zip(ninety, (0.90, 0.92), strict=True):
        _finish(client, run_id, {"accuracy": acc, "sparsity": 0.9, "cost": True})

    body = client.get(f"/api/v1/sweeps/{created['id']}/pareto").json()
    by_variant = {p["variant"]: p for p in body["points"]}
    assert len(by_variant) == 3
    b = by_variant[next(v for v in by_variant if "baseline" in v)]
    assert b["seeds"] == 2 and math.isclose(b["y_mean"], 0.98)
    assert math.isclose(b["y_std"], 0.01) and b["x_std"] == 0.0
    assert body["front"] == [p["variant"] for p in body["points"] if p["on_front"]]
    assert all(p["on_front"] for p in body["points"])  # more sparsity always costs accuracy

    cost = client.get(f"/api/v1/sweeps/{created['id']}/pareto",
                      params={"x": "summary.cost", "x_goal": "min"}).json()
    assert [(p["run_ids"], p["x_mean"]) for p in cost["points"]] == [([half[0]], 2.0)]
    # Paths to a string, an object or nothing: no point, and no 500.
    for path in ("summary.odd.a", "summary.latency_ms", "summary.nope",
                 "summary.sparsity.deeper"):
        reply = client.get(f"/api/v1/sweeps/{created['id']}/pareto", params={"x": path})
        assert reply.status_code == 200, (path, reply.text)
        assert reply.json()["points"] == [], path
    bad = assert_problem(client.get(f"/api/v1/sweeps/{created['id']}/pareto",
                                    params={"y": "summary.a'b"}), 422)
    assert bad["errors"][0]["pointer"] == "query:/y"


def test_sorting_by_a_field_with_mixed_types_puts_non_numbers_last(client: TestClient) -> None:
    created = submit(client, small_spec(seeds=[0]))
    ids = sorted(created["run_ids"])
    values: list[Any] = [0.3, "0.9", True]
    for run_id, value in zip(ids, values, strict=True):
        _finish(client, run_id, {"accuracy": 0.9, "score": value})
    for order in ("summary.score", "-summary.score"):
        reply = client.get("/api/v1/runs", params={"sweep_id": created["id"], "sort": order})
        assert reply.status_code == 200, reply.text
        assert [r["id"] for r in reply.json()["items"]] == ids  # non-numbers last, by id


@pytest.mark.parametrize("summary", [
    {"accuracy": float("nan")},
    {"accuracy": 0.9, "speedup": {"torch": {"64": float("inf")}}},
    {"accuracy": 0.9, "sensitivity": {"fc1": [0.9, float("-inf")]}},
    {"accuracy": 0.9, "hardware": {"ghz": float("nan")}},
])
def test_a_summary_with_nan_or_infinity_is_refused(client: TestClient,
                                                   summary: dict[str, Any]) -> None:
    run_id = submit(client, small_spec(seeds=[0]))["baseline_run_ids"][0]
    assert claim(client, run_id).status_code == 200
    # json.dumps writes NaN and Infinity, which Python's JSON parser (and so FastAPI) accepts.
    body = json.dumps({"worker_id": "w1", "summary": summary})
    problem = assert_problem(client.post(f"/api/v1/runs/{run_id}/complete", content=body,
                                         headers={"content-type": "application/json"}), 422)
    assert problem["errors"][0]["pointer"].startswith("/summary")
    assert client.get(f"/api/v1/runs/{run_id}").json()["status"] == "running"
