"""Metric ingestion (idempotent bulk batches) and downsampled series reads."""

from __future__ import annotations

import itertools
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from apihelpers import assert_problem, running
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, text

pytestmark = pytest.mark.integration


def _points(key: str, steps: range, value: Any = None) -> list[dict[str, Any]]:
    return [{"key": key, "step": s, "value": float(s if value is None else value(s)),
             "wall_time": 1.7e9 + s} for s in steps]


def _post(client: TestClient, run_id: int, points: list[dict[str, Any]]) -> Any:
    return client.post(f"/api/v1/runs/{run_id}/metrics", json={"points": points})


def test_same_batch_twice_stores_each_point_once(client: TestClient) -> None:
    (run_id,) = running(client)
    batch = _points("train/loss", range(500)) + _points("val/accuracy", range(0, 500, 50))
    first = _post(client, run_id, batch).json()
    assert first == {"received": 510, "inserted": 510}
    second = _post(client, run_id, batch).json()
    assert second == {"received": 510, "inserted": 0}
    series = client.get(f"/api/v1/runs/{run_id}/series",
                        params={"key": "train/loss", "buckets": 10_000}).json()
    assert series["total_points"] == 500 and len(series["buckets"]) == 500
    keys = client.get(f"/api/v1/runs/{run_id}/metrics").json()["keys"]
    assert keys == ["train/loss", "val/accuracy"]


def test_series_is_downsampled_to_min_max_last(client: TestClient) -> None:
    (run_id,) = running(client)
    # A spike at step 37 must survive downsampling in its bucket's max.
    values = {s: 100.0 if s == 37 else float(s % 10) for s in range(5, 1005)}
    _post(client, run_id, _points("loss", range(5, 1005), values.__getitem__))
    for wanted in (10, 100, 333):
        series = client.get(f"/api/v1/runs/{run_id}/series",
                            params={"key": "loss", "buckets": wanted}).json()
        buckets = series["buckets"]
        assert wanted / 4 < len(buckets) <= wanted and series["total_points"] == 1000
        assert sum(b["count"] for b in buckets) == 1000
        assert buckets[0]["step_min"] == 5 and buckets[-1]["step_max"] == 1004
        for before, after in itertools.pairwise(buckets):
            assert after["step_min"] == before["step_max"] + 1
        for b in buckets:
            inside = [values[s] for s in range(b["step_min"], b["step_max"] + 1)]
            assert (b["min"], b["max"], b["last"]) == (min(inside), max(inside), inside[-1])
            assert b["count"] == len(inside)
        spike = next(b for b in buckets if b["step_min"] <= 37 <= b["step_max"])
        assert spike["max"] == 100.0


def test_a_step_window_is_read_at_its_own_resolution(client: TestClient) -> None:
    """A zoomed chart: 50,000 steps in 100 buckets are about 500 steps each; a window of
    1,000 steps in 100 buckets is 10 steps each, exact, and covers the window."""
    (run_id,) = running(client)
    values = {s: float((s * 7919) % 1000) for s in range(50_000)}
    for start in range(0, 50_000, 10_000):
        _post(client, run_id, _points("loss", range(start, start + 10_000), values.__getitem__))
    whole = client.get(f"/api/v1/runs/{run_id}/series",
                       params={"key": "loss", "buckets": 100}).json()
    assert len(whole["buckets"]) <= 100 and whole["total_points"] == 50_000
    # 1,000 steps: raw points; 10,000 steps: the 64-step rollups.
    for lo, hi in ((20_000, 20_999), (20_000, 29_999)):
        params = {"key": "loss", "buckets": 100, "step_min": lo, "step_max": hi}
        window = client.get(f"/api/v1/runs/{run_id}/series", params=params).json()
        buckets = window["buckets"]
        assert 25 < len(buckets) <= 100
        assert buckets[0]["step_min"] <= lo and buckets[-1]["step_max"] >= hi
        edge = (hi - lo + 1) // 100 * 2  # whole source buckets: a little outside at most
        assert buckets[0]["step_min"] > lo - edge and buckets[-1]["step_max"] < hi + edge
        assert window["total_points"] == sum(b["count"] for b in buckets)
        for b in buckets:
            inside = [values[s] for s in range(b["step_min"], b["step_max"] + 1)]
            assert (b["min"], b["max"], b["last"], b["count"]) == (
                min(inside), max(inside), inside[-1], len(inside))
    several = client.get("/api/v1/series", params={**params, "run_id": [run_id]}).json()
    assert several["series"][0]["buckets"] == buckets
    beyond = client.get(f"/api/v1/runs/{run_id}/series",
                        params={"key": "loss", "step_min": 60_000}).json()
    assert beyond["buckets"] == [] and beyond["total_points"] == 0
    problem = assert_problem(client.get(f"/api/v1/runs/{run_id}/series", params={
        "key": "loss", "step_min": 5, "step_max": 4}), 422)
    assert problem["errors"][0]["pointer"] == "query:/step_max"


def test_rollups_stay_exact_across_batches_and_replays(client: TestClient) -> None:
    (run_id,) = running(client)
    steps = list(range(0, 3000, 3))
    values = {s: float((s * 7919) % 101) for s in steps}
    half = len(steps) // 2
    # Out of order, overlapping, replayed: the buckets must equal a fresh computation.
    _post(client, run_id, _points("acc", steps[half:], values.__getitem__))
    _post(client, run_id, _points("acc", steps[: half + 50], values.__getitem__))
    _post(client, run_id, _points("acc", steps[100:400], values.__getitem__))
    series = client.get(f"/api/v1/runs/{run_id}/series",
                        params={"key": "acc", "buckets": 50}).json()
    assert series["total_points"] == len(steps)
    for b in series["buckets"]:
        inside = [values[s] for s in steps if b["step_min"] <= s <= b["step_max"]]
        assert (b["count"], b["min"], b["max"], b["last"]) == (
            len(inside), min(inside), max(inside), inside[-1])


def test_series_of_several_runs(client: TestClient) -> None:
    run_ids = running(client, 3)
    for i, run_id in enumerate(run_ids):
        _post(client, run_id, _points("lr", range(i * 10 + 1)))
    got = client.get("/api/v1/series", params={"run_id": run_ids, "key": "lr",
                                               "buckets": 5}).json()["series"]
    assert [s["run_id"] for s in got] == run_ids
    assert [s["total_points"] for s in got] == [1, 11, 21]
    assert got[0]["buckets"] == [{"step_min": 0, "step_max": 0, "count": 1, "min": 0.0,
                                  "max": 0.0, "last": 0.0}]


def test_bad_batches(client: TestClient) -> None:
    (run_id,) = running(client)
    too_many = _points("x", range(10_001))
    assert_problem(_post(client, run_id, too_many), 422)
    body = assert_problem(_post(client, run_id, [{"key": "x", "step": -1, "value": 1}]), 422)
    assert body["errors"][0]["pointer"] == "/points/0/step"
    assert_problem(_post(client, 999_999, _points("x", range(3))), 404)
    assert_problem(client.get("/api/v1/runs/999999/series", params={"key": "x"}), 404)
    empty = client.get(f"/api/v1/runs/{run_id}/series", params={"key": "nothing"}).json()
    assert empty["total_points"] == 0 and empty["buckets"] == []


def test_concurrent_replays_count_each_point_once(client: TestClient) -> None:
    (run_id,) = running(client)
    batch = _points("loss", range(2000))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: _post(client, run_id, batch).json(), range(4)))
    assert sum(r["inserted"] for r in results) == 2000
    series = client.get(f"/api/v1/runs/{run_id}/series",
                        params={"key": "loss", "buckets": 20}).json()
    assert series["total_points"] == 2000
    assert sum(b["count"] for b in series["buckets"]) == 2000


def _stored(app: FastAPI, run_id: int) -> dict[tuple[str, int], tuple[float, float]]:
    with app.state.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT key, step, value, wall_time FROM metric_points "
                                 "WHERE run_id = :r"), {"r": run_id})
        return {(k, s): (v, w) for k, s, v, w in rows}


def test_values_and_wall_times_are_stored_exactly(app: FastAPI, client: TestClient) -> None:
    (run_id,) = running(client)
    tricky = [0.1, -0.0, 1 / 3, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
              -123456.789e-200, 2.0**53, 1e22]
    points: list[dict[str, Any]] = [
        {"key": "val/précision", "step": i, "value": v, "wall_time": 1.7e9 + v % 1}
        for i, v in enumerate(tricky)]
    points += [{"key": "lr", "step": 2**53, "value": 1.0},  # the largest step, no wall_time
               {"key": "lr", "step": 0, "value": 2.0, "wall_time": None}]
    before = time.time()
    assert _post(client, run_id, points).json() == {"received": 11, "inserted": 11}
    stored = _stored(app, run_id)
    for i, v in enumerate(tricky):
        value, wall = stored[("val/précision", i)]
        assert value == v  # bit for bit but for the sign of zero, which SQLite drops
        assert wall == 1.7e9 + v % 1
    for step in (2**53, 0):
        assert before - 1 <= stored[("lr", step)][1] <= time.time() + 1  # the server's clock
    series = client.get(f"/api/v1/runs/{run_id}/series",
                        params={"key": "val/précision", "buckets": 100}).json()
    assert [b["last"] for b in series["buckets"]] == tricky


def test_a_point_repeated_within_a_batch_is_stored_once_first_value_kept(
        app: FastAPI, client: TestClient) -> None:
    (run_id,) = running(client)
    batch = [*_points("loss", range(100)), {"key": "loss", "step": 7, "value": -1.0}]
    assert _post(client, run_id, batch).json() == {"received": 101, "inserted": 100}
    assert _stored(app, run_id)[("loss", 7)][0] == 7.0
    series = client.get(f"/api/v1/runs/{run_id}/series",
                        params={"key": "loss", "buckets": 1}).json()
    assert series["total_points"] == 100
    assert series["buckets"][0]["count"] == 100 and series["buckets"][0]["min"] == 0.0


def test_a_batch_overlapping_stored_points_of_one_key_stores_the_new_ones(
        client: TestClient) -> None:
    (run_id,) = running(client)
    _post(client, run_id, _points("acc", range(0, 100, 10)))
    # New keys and new steps mixed with steps already stored for "acc".
    mixed = _points("loss", range(100)) + _points("acc", range(0, 200, 5))
    assert _post(client, run_id, mixed).json() == {"received": 140, "inserted": 130}
    for key, total in (("loss", 100), ("acc", 40)):
        series = client.get(f"/api/v1/runs/{run_id}/series",
                            params={"key": key, "buckets": 7}).json()
        assert series["total_points"] == total
        assert sum(b["count"] for b in series["buckets"]) == total


def test_a_new_batch_is_one_statement_on_postgresql(app: FastAPI, client: TestClient) -> None:
    if app.state.db.dialect != "postgresql":
        pytest.skip("SQLite inserts the points and then folds the rollups")
    (run_id,) = running(client)
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(app.state.db.engine, "before_cursor_execute", record)
    try:
        _post(client, run_id, _points("loss", range(10_000)))
        writes = [s for s in seen if "INSERT INTO" in s]
        seen.clear()
        _post(client, run_id, _points("loss", range(10_000)))  # a replay takes the safe path
        replay_writes = [s for s in seen if "INSERT INTO" in s]
    finally:
        event.remove(app.state.db.engine, "before_cursor_execute", record)
    assert len(writes) == 1 and "metric_rollups" in writes[0]
    assert "ON CONFLICT (run_id, key, step)" not in writes[0]  # the plain insert: no overlap
    assert len(replay_writes) == 2 and "ON CONFLICT (run_id, key, step)" in replay_writes[1]
