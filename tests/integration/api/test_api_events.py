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
