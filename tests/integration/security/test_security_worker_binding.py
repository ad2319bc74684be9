"""Issue 14, items 2 and 3: a run's lease is bound to the token that claimed it, and a run
takes metrics and files only from that token while it runs.

Two worker tokens: ``a`` claims the run as worker "wa"; ``b`` knows that worker id (it is
public as ``lease_owner``) and tries to act on the run with it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from securityhelpers import problem, spec

pytestmark = pytest.mark.integration
SUMMARY = {"accuracy": 0.97, "sparsity": 0.0}
WEIGHTS = b"the weights the run produced"


def _worker_token(client: TestClient, name: str) -> dict[str, str]:
    created = client.post("/api/v1/tokens", json={"name": name, "scopes": ["worker"]})
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['token']}"}


def _baseline(client: TestClient) -> int:
    created = client.post("/api/v1/sweeps", json=spec(seeds=[0]))
    assert created.status_code == 201, created.text
    run_id: int = created.json()["baseline_run_ids"][0]
    return run_id


def _points(steps: range, value: float = 1.0) -> dict[str, Any]:
    return {"points": [{"key": "train/loss", "step": s, "value": value + s, "wall_time": 1.7e9}
                       for s in steps]}


class Worker:
    """Requests as one worker token sends them, naming ``worker_id``."""

    def __init__(self, client: TestClient, auth: dict[str, str], worker_id: str) -> None:
        self.client, self.auth, self.worker_id = client, auth, worker_id

    def post(self, run_id: int, action: str, **body: Any) -> Any:
        return self.client.post(f"/api/v1/runs/{run_id}/{action}", headers=self.auth,
                                json={"worker_id": self.worker_id, **body})

    def metrics(self, run_id: int, batch: dict[str, Any]) -> Any:
        return self.client.post(f"/api/v1/runs/{run_id}/metrics", headers=self.auth,
                                json=batch)

    def upload(self, run_id: int, name: str, data: bytes) -> Any:
        return self.client.put(f"/api/v1/runs/{run_id}/artifacts/{name}", headers=self.auth,
                               content=data)


@pytest.fixture
def workers(client: TestClient) -> tuple[Worker, Worker]:
    """``a`` and ``b``: two worker tokens, and ``b`` impersonates ``a``'s worker id."""
    return (Worker(client, _worker_token(client, "a"), "wa"),
            Worker(client, _worker_token(client, "b"), "wa"))


def _run(client: TestClient, run_id: int) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/v1/runs/{run_id}").json()
    return body


def test_another_token_cannot_renew_complete_or_fail_the_run(
        client: TestClient, workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    run_id = _baseline(client)
    assert a.post(run_id, "claim").status_code == 200
    error = {"type": "Boom", "message": "stolen"}
    for action, body in (("heartbeat", {}), ("complete", {"summary": SUMMARY}),
                         ("fail", {"error": error}), ("fail", {"error": error,
                                                               "retryable": True})):
        assert "another token" in problem(b.post(run_id, action, **body), 403)["detail"]
    # The admin is no exception: it cancels a run, it does not finish it.
    admin = Worker(client, {}, "wa")
    problem(admin.post(run_id, "complete", summary=SUMMARY), 403)
    run = _run(client, run_id)
    assert (run["status"], run["attempt"], run["lease_owner"]) == ("running", 1, "wa")
    assert run["summary"] is None and run["error"] is None
    # The claiming token still holds the lease, and a wrong worker id is refused as before.
    assert a.post(run_id, "heartbeat").json()["cancel"] is False
    problem(Worker(client, a.auth, "wz").post(run_id, "heartbeat"), 409)
    assert a.post(run_id, "complete", summary=SUMMARY).json()["status"] == "succeeded"


def test_another_token_cannot_post_metrics_or_files_to_the_run(
        client: TestClient, workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    run_id = _baseline(client)
    assert a.post(run_id, "claim").status_code == 200
    problem(b.metrics(run_id, _points(range(10))), 403)
    problem(b.upload(run_id, "model.safetensors", b"not the run's weights"), 403)
    series = client.get(f"/api/v1/runs/{run_id}/series", params={"key": "train/loss"})
    assert series.json()["total_points"] == 0
    assert client.get(f"/api/v1/runs/{run_id}/artifacts").json()["items"] == []
    assert a.metrics(run_id, _points(range(10))).json() == {"received": 10, "inserted": 10}
    assert a.upload(run_id, "model.safetensors", WEIGHTS).status_code == 201
    # b cannot pass a's points off as a replay with its own values either.
    problem(b.metrics(run_id, _points(range(10), value=-5.0)), 403)


def test_the_lease_follows_the_claim_when_a_run_is_requeued(
        client: TestClient, workers: tuple[Worker, Worker]) -> None:
    a, _ = workers
    b = Worker(client, workers[1].auth, "wb")
    run_id = _baseline(client)
    a.post(run_id, "claim")
    requeued = a.post(run_id, "fail", error={"type": "OSError", "message": "disk"},
                      retryable=True)
    assert requeued.json()["status"] == "queued"
    assert b.post(run_id, "claim").json()["attempt"] == 2
    problem(a.post(run_id, "heartbeat"), 409)  # another worker's lease, as before
    problem(Worker(client, a.auth, "wb").post(run_id, "heartbeat"), 403)
    problem(a.metrics(run_id, _points(range(3))), 403)
    assert b.post(run_id, "heartbeat").status_code == 200


def test_a_succeeded_runs_files_are_immutable(
        client: TestClient, workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    run_id = _baseline(client)
    a.post(run_id, "claim")
    assert a.upload(run_id, "model.safetensors", WEIGHTS).status_code == 201
    assert a.post(run_id, "complete", summary=SUMMARY).status_code == 200
    for worker in (a, b):
        body = problem(worker.upload(run_id, "model.safetensors", b"overwritten"), 409)
        assert "succeeded" in body["detail"]
        problem(worker.upload(run_id, "extra.bin", b"added later"), 409)
    download = client.get(f"/api/v1/runs/{run_id}/artifacts/model.safetensors")
    assert download.content == WEIGHTS
    names = [x["name"] for x in client.get(f"/api/v1/runs/{run_id}/artifacts").json()["items"]]
    assert names == ["model.safetensors"]


def test_metrics_after_the_run_ended_are_refused_but_a_replay_stays_idempotent(
        client: TestClient, workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    run_id = _baseline(client)
    a.post(run_id, "claim")
    batch = _points(range(10_000))  # the largest batch the API takes
    assert a.metrics(run_id, batch).json()["inserted"] == 10_000
    assert a.post(run_id, "complete", summary=SUMMARY).status_code == 200
    # A retry of a batch whose reply was lost: 200, nothing inserted.
    assert a.metrics(run_id, batch).json() == {"received": 10_000, "inserted": 0}
    assert a.metrics(run_id, _points(range(40, 60))).json()["inserted"] == 0
    # Anything new is a 409: a new step, or another value at a stored step.
    new_step = _points(range(10_000, 10_001))
    assert "succeeded" in problem(a.metrics(run_id, new_step), 409)["detail"]
    problem(a.metrics(run_id, _points(range(9_990, 10_010))), 409)
    problem(b.metrics(run_id, _points(range(10), value=7.0)), 409)
    series = client.get(f"/api/v1/runs/{run_id}/series",
                        params={"key": "train/loss", "buckets": 10_000}).json()
    assert series["total_points"] == 10_000
    assert [x["last"] for x in series["buckets"]][:3] == [1.0, 2.0, 3.0]


def test_cancelled_and_unclaimed_runs_take_no_metrics(
        client: TestClient, workers: tuple[Worker, Worker]) -> None:
    a, _ = workers
    run_id = _baseline(client)
    problem(a.metrics(run_id, _points(range(5))), 409)  # queued: nobody holds it
    a.post(run_id, "claim")
    assert a.metrics(run_id, _points(range(5))).json()["inserted"] == 5
    assert client.post(f"/api/v1/runs/{run_id}/cancel").json()["status"] == "cancelled"
    assert "cancelled" in problem(a.metrics(run_id, _points(range(5, 9))), 409)["detail"]
    problem(a.upload(run_id, "checkpoint.pt", b"late"), 409)
    assert a.metrics(run_id, _points(range(5))).json()["inserted"] == 0
