"""The run state machine over HTTP: claim, lease, heartbeat, complete, fail, cancel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apihelpers import RecordingEnqueuer, assert_problem, claim, complete, small_spec, submit
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.services import runs as run_service
from api.services.context import Effects
from api.settings import Settings

pytestmark = pytest.mark.integration
SUMMARY = {"accuracy": 0.95, "baseline_accuracy": 0.97, "accuracy_drop": 0.02,
           "sparsity": 0.9, "size_bytes": {"dense_fp32": 1000, "stored": 200},
           "latency_ms": {"torch": {"64": {"p50": 0.5, "p90": 0.6}}}}


def test_second_claim_is_refused(client: TestClient) -> None:
    base = submit(client)["baseline_run_ids"][0]
    first = claim(client, base)
    assert first.status_code == 200
    run = first.json()
    assert run["status"] == "running" and run["attempt"] == 1 and run["lease_owner"] == "w1"
    assert run["config"]["kind"] == "baseline"
    assert_problem(claim(client, base, "w2"), 409)
    assert_problem(claim(client, 999_999), 404)


def test_compress_run_waits_for_its_baseline(client: TestClient) -> None:
    created = submit(client)
    compress = created["run_ids"][-1]
    body = assert_problem(claim(client, compress), 409)
    assert "baseline" in body["detail"]


def test_full_lifecycle_enqueues_dependents_and_ends_the_sweep(
        client: TestClient, enqueuer: RecordingEnqueuer) -> None:
    created = submit(client, small_spec(seeds=[0]))
    base, *compress = created["run_ids"]
    enqueuer.sent.clear()
    claim(client, base)
    beat = client.post(f"/api/v1/runs/{base}/heartbeat", json={"worker_id": "w1"}).json()
    assert beat["cancel"] is False and beat["lease_expires_at"]
    assert_problem(client.post(f"/api/v1/runs/{base}/heartbeat", json={"worker_id": "w2"}), 409)
    done = complete(client, base, {"accuracy": 0.97})
    assert done.status_code == 200 and done.json()["status"] == "succeeded"
    assert enqueuer.run_ids == compress
    assert client.get(f"/api/v1/sweeps/{created['id']}").json()["status"] == "running"
    for i, run_id in enumerate(compress):
        assert claim(client, run_id).status_code == 200
        assert complete(client, run_id, {**SUMMARY, "accuracy": 0.9 + i / 100}).status_code == 200
    sweep = client.get(f"/api/v1/sweeps/{created['id']}").json()
    assert sweep["status"] == "succeeded" and sweep["ended_at"]
    assert_problem(complete(client, base, {}), 409)


def test_retryable_failure_requeues_until_max_attempts(
        client: TestClient, enqueuer: RecordingEnqueuer) -> None:
    base = submit(client, small_spec(seeds=[0]))["baseline_run_ids"][0]
    error = {"type": "ConnectionError", "message": "broker gone"}
    enqueuer.sent.clear()
    claim(client, base)
    again = client.post(f"/api/v1/runs/{base}/fail",
                        json={"worker_id": "w1", "error": error, "retryable": True}).json()
    assert again["status"] == "queued" and enqueuer.run_ids == [base]
    assert claim(client, base).json()["attempt"] == 2
    final = client.post(f"/api/v1/runs/{base}/fail",
                        json={"worker_id": "w1", "error": error, "retryable": True}).json()
    assert final["status"] == "failed" and final["error"]["attempt"] == 2
    runs = client.get("/api/v1/runs", params={"kind": "compress"}).json()["items"]
    assert {r["status"] for r in runs} == {"failed"}
    assert runs[0]["error"]["type"] == "DependencyFailed"


def test_cancel_run(client: TestClient) -> None:
    created = submit(client, small_spec(seeds=[0]))
    compress = created["run_ids"][1]
    assert client.post(f"/api/v1/runs/{compress}/cancel").json()["status"] == "cancelled"
    assert_problem(client.post(f"/api/v1/runs/{compress}/cancel"), 409)
    assert_problem(claim(client, compress), 409)


def test_expired_leases_are_requeued_then_failed(
        app: FastAPI, client: TestClient, enqueuer: RecordingEnqueuer,
        settings: Settings) -> None:
    base = submit(client, small_spec(seeds=[0]))["baseline_run_ids"][0]
    fx = Effects(settings, enqueuer, app.state.events)
    later = datetime.now(UTC) + timedelta(hours=1)
    claim(client, base)
    with app.state.db.session() as session:
        assert run_service.expire_leases(session, fx, later) == [base]
    assert client.get(f"/api/v1/runs/{base}").json()["status"] == "queued"
    claim(client, base)
    with app.state.db.session() as session:
        run_service.expire_leases(session, fx, later)
    run = client.get(f"/api/v1/runs/{base}").json()
    assert run["status"] == "failed" and run["error"]["type"] == "LeaseExpired"
    # the lease is gone, but the error names the worker that held it
    assert run["lease_owner"] is None and run["error"]["worker"] == "w1"
    assert run["error"]["attempt"] == 2


def test_list_sorts_by_summary_field_and_pages(client: TestClient) -> None:
    created = submit(client, small_spec(seeds=[0, 1]))
    by_id = sorted(created["run_ids"])
    for run_id in created["baseline_run_ids"]:
        claim(client, run_id)
        complete(client, run_id, {"accuracy": 0.97})
    compress = [r for r in by_id if r not in created["baseline_run_ids"]]
    accuracies = [0.91, 0.95, 0.93, 0.92]
    for run_id, acc in zip(compress, accuracies, strict=True):
        claim(client, run_id)
        complete(client, run_id, {**SUMMARY, "accuracy": acc})
    params: dict[str, Any] = {"sort": "-summary.accuracy", "kind": "compress", "limit": 3}
    first = client.get("/api/v1/runs", params=params).json()
    second = client.get("/api/v1/runs", params={**params, "cursor": first["next_cursor"]}).json()
    got = [r["summary"]["accuracy"] for r in first["items"] + second["items"]]
    assert got == sorted(accuracies, reverse=True) and second["next_cursor"] is None
    nested = client.get("/api/v1/runs", params={
        "sort": "summary.latency_ms.torch.64.p50", "status": "succeeded"}).json()["items"]
    assert [r["kind"] for r in nested][-2:] == ["baseline", "baseline"]  # missing values last
    assert_problem(client.get("/api/v1/runs", params={"sort": "config; drop"}), 422)


def test_a_heartbeat_after_the_lease_expired_is_refused_before_the_reaper_runs(
        app: FastAPI, client: TestClient) -> None:
    from sqlalchemy import update

    from api.models import Run

    base = submit(client, small_spec(seeds=[0]))["baseline_run_ids"][0]
    claim(client, base)
    with app.state.db.session() as session:  # the lease ran out; no reaper has run yet
        session.execute(update(Run).where(Run.id == base).values(
            lease_expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        session.commit()
    body = assert_problem(client.post(f"/api/v1/runs/{base}/heartbeat",
                                      json={"worker_id": "w1"}), 409)
    assert "expired" in body["detail"]
    run = client.get(f"/api/v1/runs/{base}").json()
    assert run["status"] == "running"  # the reaper requeues it, not the heartbeat
