"""Metric ingestion (idempotent bulk batches) and downsampled series reads."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from apihelpers import assert_problem, submit
from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration


def _points(key: str, steps: range, value: Any = None) -> list[dict[str, Any]]:
    return [{"key": key, "step": s, "value": float(s if value is None else value(s)),
             "wall_time": 1.7e9 + s} for s in steps]


def _post(client: TestClient, run_id: int, points: list[dict[str, Any]]) -> Any:
    return client.post(f"/api/v1/runs/{run_id}/metrics", json={"points": points})


def test_same_batch_twice_stores_each_point_once(client: TestClient) -> None:
    run_id = submit(client)["run_ids"][0]
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
    run_id = submit(client)["run_ids"][0]
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


def test_rollups_stay_exact_across_batches_and_replays(client: TestClient) -> None:
    run_id = submit(client)["run_ids"][0]
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
    run_ids = submit(client)["run_ids"][:3]
    for i, run_id in enumerate(run_ids):
        _post(client, run_id, _points("lr", range(i * 10 + 1)))
    got = client.get("/api/v1/series", params={"run_id": run_ids, "key": "lr",
                                               "buckets": 5}).json()["series"]
    assert [s["run_id"] for s in got] == run_ids
    assert [s["total_points"] for s in got] == [1, 11, 21]
    assert got[0]["buckets"] == [{"step_min": 0, "step_max": 0, "count": 1, "min": 0.0,
                                  "max": 0.0, "last": 0.0}]


def test_bad_batches(client: TestClient) -> None:
    run_id = submit(client)["run_ids"][0]
    too_many = _points("x", range(10_001))
    assert_problem(_post(client, run_id, too_many), 422)
    body = assert_problem(_post(client, run_id, [{"key": "x", "step": -1, "value": 1}]), 422)
    assert body["errors"][0]["pointer"] == "/points/0/step"
    assert_problem(_post(client, 999_999, _points("x", range(3))), 404)
    assert_problem(client.get("/api/v1/runs/999999/series", params={"key": "x"}), 404)
    empty = client.get(f"/api/v1/runs/{run_id}/series", params={"key": "nothing"}).json()
    assert empty["total_points"] == 0 and empty["buckets"] == []


def test_concurrent_replays_count_each_point_once(client: TestClient) -> None:
    run_id = submit(client)["run_ids"][0]
    batch = _points("loss", range(2000))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: _post(client, run_id, batch).json(), range(4)))
    assert sum(r["inserted"] for r in results) == 2000
    series = client.get(f"/api/v1/runs/{run_id}/series",
                        params={"key": "loss", "buckets": 20}).json()
    assert series["total_points"] == 2000
    assert sum(b["count"] for b in series["buckets"]) == 2000
