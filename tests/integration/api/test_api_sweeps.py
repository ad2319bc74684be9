"""Sweeps over HTTP, on SQLite and PostgreSQL: submit, validate, list, cancel, retry, delete."""

from __future__ import annotations

import pytest
import yaml
from apihelpers import RecordingEnqueuer, assert_problem, small_spec, submit
from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration


def test_submit_stores_runs_and_enqueues_only_baselines(
        client: TestClient, enqueuer: RecordingEnqueuer) -> None:
    created = submit(client)
    assert len(created["run_ids"]) == 6 and len(created["baseline_run_ids"]) == 2
    assert enqueuer.sent == [(rid, "cpu") for rid in created["baseline_run_ids"]]
    sweep = client.get(f"/api/v1/sweeps/{created['id']}").json()
    assert sweep["status"] == "queued" and sweep["counts"] == {"queued": 6}
    assert sweep["spec"]["name"] == "small" and sweep["source"] == "api"
    runs = client.get("/api/v1/runs", params={"sweep_id": created["id"]}).json()["items"]
    baselines = {r["id"]: r for r in runs if r["kind"] == "baseline"}
    for run in runs:
        if run["kind"] == "compress":
            base = baselines[run["depends_on_id"]]
            assert base["seed"] == run["seed"] and base["baseline_key"] == run["baseline_key"]


def test_yaml_body_is_accepted(client: TestClient) -> None:
    response = client.post("/api/v1/sweeps", content=yaml.safe_dump(small_spec("yml")),
                           headers={"content-type": "application/yaml"})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "yml"


def test_invalid_spec_gets_pointers_and_stores_nothing(client: TestClient) -> None:
    spec = small_spec()
    spec["recipes"][0]["schedule"]["final_sparsity"] = [0.5, 1.5]
    spec["seeds"] = [0, 0]
    body = assert_problem(client.post("/api/v1/sweeps", json=spec), 422)
    pointers = {e["pointer"] for e in body["errors"]}
    assert "/recipes/0/schedule/final_sparsity/1" in pointers
    assert client.get("/api/v1/sweeps").json()["items"] == []
    assert client.get("/api/v1/runs").json()["items"] == []


@pytest.mark.parametrize(("content", "ctype"), [
    ("name: [unclosed", "application/yaml"), ("[1, 2]", "application/json"),
    ("{not json", "application/json")])
def test_undecodable_bodies_are_422(client: TestClient, content: str, ctype: str) -> None:
    body = assert_problem(client.post("/api/v1/sweeps", content=content,
                                      headers={"content-type": ctype}), 422)
    assert body["errors"][0]["pointer"] == ""


def test_unsupported_media_type(client: TestClient) -> None:
    assert_problem(client.post("/api/v1/sweeps", content=b"x",
                               headers={"content-type": "image/png"}), 415)


def test_dry_run_expands_without_storing(client: TestClient,
                                         enqueuer: RecordingEnqueuer) -> None:
    response = client.post("/api/v1/sweeps", params={"dry_run": "true"}, json=small_spec())
    assert response.status_code == 200
    plan = response.json()
    assert plan["run_count"] == 6 and plan["baseline_count"] == 2
    assert {r["name"] for r in plan["runs"]} >= {"baseline@seed0", "agp[final_sparsity=0.9]@seed1"}
    assert client.get("/api/v1/sweeps").json()["items"] == [] and enqueuer.sent == []


def test_list_is_cursor_paginated_and_filtered(client: TestClient) -> None:
    ids = [submit(client, small_spec(f"sweep-{i}", seeds=[0]))["id"] for i in range(5)]
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/sweeps", params=params).json()
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    named = client.get("/api/v1/sweeps", params={"name": "sweep-3"}).json()["items"]
    assert [s["id"] for s in named] == [ids[3]]
    assert named[0]["counts"] == {"queued": 3} and named[0]["run_count"] == 3
    assert client.get("/api/v1/sweeps", params={"status": "running"}).json()["items"] == []
    assert len(client.get("/api/v1/sweeps", params={"task": "digits-mlp"}).json()["items"]) == 5
    assert_problem(client.get("/api/v1/sweeps", params={"cursor": "garbage!"}), 422)


def test_cancel_ends_the_sweep_and_tells_workers(client: TestClient) -> None:
    created = submit(client)
    base = created["baseline_run_ids"][0]
    assert client.post(f"/api/v1/runs/{base}/claim", json={"worker_id": "w1"}).status_code == 200
    sweep = client.post(f"/api/v1/sweeps/{created['id']}/cancel").json()
    assert sweep["status"] == "cancelled" and sweep["counts"] == {"cancelled": 6}
    beat = client.post(f"/api/v1/runs/{base}/heartbeat", json={"worker_id": "w1"}).json()
    assert beat["cancel"] is True
    assert_problem(client.post(f"/api/v1/sweeps/{created['id']}/cancel"), 409)


def test_retry_failed_requeues_and_enqueues_ready_runs(
        client: TestClient, enqueuer: RecordingEnqueuer) -> None:
    created = submit(client, small_spec(seeds=[0]))
    base = created["baseline_run_ids"][0]
    client.post(f"/api/v1/runs/{base}/claim", json={"worker_id": "w1"})
    failed = client.post(f"/api/v1/runs/{base}/fail", json={
        "worker_id": "w1", "error": {"type": "ValueError", "message": "boom"}}).json()
    assert failed["status"] == "failed"
    sweep = client.get(f"/api/v1/sweeps/{created['id']}").json()
    assert sweep["status"] == "failed" and sweep["counts"] == {"failed": 3}
    enqueuer.sent.clear()
    retried = client.post(f"/api/v1/sweeps/{created['id']}/retry-failed").json()
    assert retried["requeued_run_ids"] == sorted(created["run_ids"])
    assert enqueuer.run_ids == [base]  # the compress runs wait for their baseline
    assert client.get(f"/api/v1/sweeps/{created['id']}").json()["status"] == "running"


def test_delete_removes_sweep_runs_and_points(client: TestClient) -> None:
    created = submit(client)
    run_id = created["run_ids"][0]
    client.post(f"/api/v1/runs/{run_id}/metrics",
                json={"points": [{"key": "lr", "step": 1, "value": 0.1}]})
    assert client.delete(f"/api/v1/sweeps/{created['id']}").status_code == 204
    assert_problem(client.get(f"/api/v1/sweeps/{created['id']}"), 404)
    assert_problem(client.get(f"/api/v1/runs/{run_id}"), 404)
    assert_problem(client.delete(f"/api/v1/sweeps/{created['id']}"), 404)


def test_broker_failure_keeps_runs_queued(client: TestClient,
                                          enqueuer: RecordingEnqueuer) -> None:
    enqueuer.fail = True
    created = submit(client)
    counts = client.get(f"/api/v1/sweeps/{created['id']}").json()["counts"]
    assert counts == {"queued": 6}
