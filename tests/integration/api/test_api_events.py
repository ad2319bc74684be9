"""The SSE stream carries run state changes and metric notifications of one sweep."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from apihelpers import submit
from fastapi import FastAPI
from fastapi.testclient import TestClient
from polling import wait_for

pytestmark = pytest.mark.integration


def _subscribers(app: FastAPI) -> int:
    count: int = app.state.events.subscriber_count
    return count


def test_stream_reports_claim_and_metrics(app: FastAPI, client: TestClient) -> None:
    created = submit(client)
    other = submit(client)
    base = created["baseline_run_ids"][0]
    received: list[str] = []

    def listen() -> None:
        with client.stream("GET", "/api/v1/events",
                           params={"sweep": created["id"], "max_events": 2}) as response:
            received.extend(response.iter_lines())

    listener = threading.Thread(target=listen)
    listener.start()
    wait_for(lambda: _subscribers(app), timeout=10, what="the SSE subscription",
             interval=0.01)
    assert _subscribers(app) == 1
    client.post(f"/api/v1/runs/{other['baseline_run_ids'][0]}/claim", json={"worker_id": "w"})
    client.post(f"/api/v1/runs/{base}/claim", json={"worker_id": "w"})
    client.post(f"/api/v1/runs/{base}/metrics",
                json={"points": [{"key": "lr", "step": 3, "value": 0.1}]})
    listener.join(timeout=10)
    assert not listener.is_alive()
    events: list[dict[str, Any]] = [json.loads(line[len("data: "):])
                                    for line in received if line.startswith("data: ")]
    assert events == [
        {"type": "run", "run_id": base, "status": "running", "attempt": 1,
         "sweep_id": created["id"]},
        {"type": "metrics", "run_id": base, "keys": ["lr"], "max_step": 3,
         "sweep_id": created["id"]},
    ]
    assert _subscribers(app) == 0


def test_worker_changes_reach_only_the_stream_of_all_sweeps(app: FastAPI,
                                                           client: TestClient) -> None:
    created = submit(client)
    run_id = created["baseline_run_ids"][0]
    streams: dict[str, list[str]] = {"all": [], "sweep": []}

    def listen(name: str, params: dict[str, Any]) -> None:
        with client.stream("GET", "/api/v1/events", params=params) as response:
            streams[name].extend(response.iter_lines())

    listeners = [threading.Thread(target=listen, args=("all", {"max_events": 3})),
                 threading.Thread(target=listen, args=("sweep", {"sweep": created["id"],
                                                                 "max_events": 1}))]
    for t in listeners:
        t.start()
    wait_for(lambda: _subscribers(app) == 2, timeout=10, what="two SSE subscriptions",
             interval=0.01)
    worker = {"id": "w-ev:1", "hostname": "h", "queues": ["cpu"], "tasks": [], "hardware": {}}
    assert client.post("/api/v1/workers", json=worker).status_code == 200
    for current in (None, run_id):  # no change, then a change: one event
        client.post("/api/v1/workers/w-ev:1/heartbeat", json={"current_run_id": current})
    client.post(f"/api/v1/runs/{run_id}/claim", json={"worker_id": "w-ev:1"})
    for t in listeners:
        t.join(timeout=10)
        assert not t.is_alive()
    events = {name: [json.loads(line[len("data: "):]) for line in lines
                     if line.startswith("data: ")] for name, lines in streams.items()}
    assert [(e["type"], e.get("current_run_id")) for e in events["all"]] == [
        ("worker", None), ("worker", run_id), ("run", None)]
    assert events["all"][0] == {"type": "worker", "worker_id": "w-ev:1",
                                "current_run_id": None, "sweep_id": None}
    assert [e["type"] for e in events["sweep"]] == ["run"]
