"""Helpers shared by the API tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from typing import Any

from alembic import command
from fastapi.testclient import TestClient

from api.migrate import alembic_config

ADMIN_TOKEN = "sqz_test-admin-token"


class RecordingEnqueuer:
    """Test stand-in for the Celery producer: remembers what was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []
        self.fail = False

    def enqueue(self, run_id: int, queue: str) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.sent.append((run_id, queue))

    @property
    def run_ids(self) -> list[int]:
        return [run_id for run_id, _ in self.sent]


def small_spec(name: str = "small", seeds: list[int] | None = None) -> dict[str, Any]:
    """2 seeds x (1 baseline + 2 AGP sparsities) = 2 baselines and 4 compress runs."""
    return {"name": name, "task": "digits-mlp", "seeds": seeds or [0, 1],
            "baseline": {"epochs": 2},
            "recipes": [{"name": "agp", "prune": {"granularity": "unstructured"},
                         "schedule": {"kind": "agp", "final_sparsity": [0.5, 0.9],
                                      "end_epoch": 2},
                         "finetune": {"epochs": 3}}]}


def submit(client: TestClient, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.post("/api/v1/sweeps", json=spec or small_spec())
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def claim(client: TestClient, run_id: int, worker: str = "w1") -> Any:
    """A worker claims the run (the response, for the test to check)."""
    return client.post(f"/api/v1/runs/{run_id}/claim", json={"worker_id": worker})


def running(client: TestClient, n: int = 1) -> list[int]:
    """Submit a sweep of ``n`` seeds and claim its ``n`` baselines: the API takes a run's
    metrics and files only while it runs, from the token that claimed it."""
    run_ids: list[int] = submit(client, small_spec(seeds=list(range(n))))["run_ids"][:n]
    for run_id in run_ids:
        assert claim(client, run_id).status_code == 200
    return run_ids


def complete(client: TestClient, run_id: int, summary: dict[str, Any],
             worker: str = "w1") -> Any:
    """The claiming worker posts the run's summary (the response)."""
    return client.post(f"/api/v1/runs/{run_id}/complete",
                       json={"worker_id": worker, "summary": summary})


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is problem+json with ``status`` and a request id."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def migrate(url: str) -> None:
    """``alembic upgrade head`` then ``alembic check`` (models and migrations agree)."""
    cfg = alembic_config(url)
    command.upgrade(cfg, "head")
    command.check(cfg)
