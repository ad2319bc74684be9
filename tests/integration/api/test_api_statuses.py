"""Commit statuses for CI sweeps, posted by the API's notifier thread to a real HTTP server
on 127.0.0.1 that records them: pending on creation, the gates' verdict at the end, retries
with backoff, and a provider that is down never failing an API request."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from apihelpers import ADMIN_TOKEN, RecordingEnqueuer
from cihelpers import PR_SHA, compressed, deliver_pr, finish_sweep, make_trigger, template
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ghfixtures import REPO
from liveapi import free_port
from polling import wait_for
from recorder import Recorded, StatusRecorder

from api.app import create_app
from api.settings import Settings

pytestmark = pytest.mark.integration
PUBLIC = "https://squeezelab.example.com"
TOKEN = "ghp_recorded-token"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={
        "public_url": PUBLIC, "status_poll_interval_s": 0.05, "status_retry_base_s": 0.1,
        "status_max_attempts": 3, "status_timeout_s": 2.0})


@pytest.fixture
def hooks(app: FastAPI, client: TestClient) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as plain:
        yield plain


def _statuses(client: TestClient, sweep_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/api/v1/webhooks/statuses",
                                             params={"sweep_id": sweep_id}).json()["items"]
    return sorted(items, key=lambda s: s["id"])


def _wait_statuses(client: TestClient, sweep_id: int, done: int,
                   timeout: float = 20) -> list[dict[str, Any]]:
    """Poll until ``done`` statuses are no longer queued."""
    def sent() -> list[dict[str, Any]] | None:
        rows = _statuses(client, sweep_id)
        return rows if sum(r["outcome"] != "queued" for r in rows) >= done else None

    return wait_for(sent, timeout=timeout, what=f"{done} statuses of sweep {sweep_id} sent",
                    interval=0.05)


def _github_status(request: Recorded, sha: str = PR_SHA) -> dict[str, Any]:
    assert request.path == f"/repos/{REPO}/statuses/{sha}"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    body: dict[str, Any] = request.body
    return body


def test_pending_then_success_with_the_gates_description(
        client: TestClient, hooks: TestClient) -> None:
    with StatusRecorder() as github:
        make_trigger(client, template=template(max_accuracy_drop=0.01),
                     statuses={"api_base": github.url, "token": TOKEN})
        (sweep_id,) = deliver_pr(hooks).json()["sweep_ids"]
        (pending,) = github.wait_for(1, timeout=20)
        assert _github_status(pending) == {
            "state": "pending", "description": f"sweep ci-{PR_SHA}: 3 runs queued",
            "target_url": f"{PUBLIC}/sweeps/{sweep_id}", "context": "squeezelab"}
        finish_sweep(client, sweep_id, compressed(drop=0.004, speedup=1.6))
        final = _github_status(github.wait_for(2, timeout=20)[1])
    gates = client.get(f"/api/v1/sweeps/{sweep_id}").json()["gates"]
    assert gates["passed"] is True
    assert final == {"state": "success", "description": gates["description"],
                     "target_url": f"{PUBLIC}/sweeps/{sweep_id}", "context": "squeezelab"}
    assert final["description"].startswith("passed: best agp") and len(
        final["description"]) <= 140
    rows = _statuses(client, sweep_id)
    assert [(r["state"], r["outcome"], r["attempts"], r["response_status"]) for r in rows] == [
        ("pending", "sent", 1, 201), ("success", "sent", 1, 201)]


def test_a_failing_gate_posts_failure(client: TestClient, hooks: TestClient) -> None:
    with StatusRecorder() as github:
        make_trigger(client, template=template(min_speedup=2.0),
                     statuses={"api_base": github.url, "token": TOKEN})
        (sweep_id,) = deliver_pr(hooks).json()["sweep_ids"]
        github.wait_for(1, timeout=20)
        finish_sweep(client, sweep_id, compressed(drop=0.004, speedup=1.5))
        final = _github_status(github.wait_for(2, timeout=20)[1])
    assert final["state"] == "failure"
    assert final["description"].startswith("failed (min_speedup): closest agp")


def test_gitlab_statuses_go_to_the_commit_status_api(client: TestClient,
                                                     hooks: TestClient) -> None:
    sha = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    with StatusRecorder() as gitlab:
        make_trigger(client, provider="gitlab", repository="group/sub/vision",
                     events=["push"], statuses={"api_base": gitlab.url + "/api/v4",
                                                "token": "glpat-x"})
        body = (b'{"object_kind": "push", "ref": "refs/heads/main", "checkout_sha": "%s", '
                b'"project": {"path_with_namespace": "group/sub/vision"}}' % sha.encode())
        response = hooks.post("/api/v1/webhooks/gitlab", content=body, headers={
            "Content-Type": "application/json", "X-Gitlab-Event": "Push Hook",
            "X-Gitlab-Token": "It's a Secret to Everybody", "Idempotency-Key": "k1"})
        (sweep_id,) = response.json()["sweep_ids"]
        gitlab.wait_for(1, timeout=20)
        assert client.post(f"/api/v1/sweeps/{sweep_id}/cancel").status_code == 200
        pending, final = gitlab.wait_for(2, timeout=20)
    for request in (pending, final):
        assert request.path == f"/api/v4/projects/group%2Fsub%2Fvision/statuses/{sha}"
        assert request.headers["private-token"] == "glpat-x"
        assert request.body["name"] == "squeezelab"
    assert (pending.body["state"], final.body["state"]) == ("pending", "canceled")
    assert final.body["description"] == "sweep cancelled"


def test_a_provider_that_fails_is_retried_with_backoff(client: TestClient,
                                                       hooks: TestClient) -> None:
    with StatusRecorder(replies=[503, 502]) as github:
        make_trigger(client, statuses={"api_base": github.url, "token": TOKEN})
        (sweep_id,) = deliver_pr(hooks).json()["sweep_ids"]
        first, second, third = github.wait_for(3, timeout=20)
    assert first.body == second.body == third.body and first.body["state"] == "pending"
    # Delays of 0.1 s, then 0.2 s (status_retry_base_s doubling), at the least.
    assert second.at - first.at >= 0.1 and third.at - second.at >= 0.2
    (row,) = _wait_statuses(client, sweep_id, 1)
    assert (row["outcome"], row["attempts"], row["response_status"]) == ("sent", 3, 201)


def test_a_refusing_provider_is_not_retried(client: TestClient, hooks: TestClient) -> None:
    with StatusRecorder(replies=[401]) as github:
        make_trigger(client, statuses={"api_base": github.url, "token": TOKEN})
        (sweep_id,) = deliver_pr(hooks).json()["sweep_ids"]
        (row,) = _wait_statuses(client, sweep_id, 1)
        assert len(github.seen()) == 1
    assert (row["outcome"], row["attempts"], row["response_status"]) == ("failed", 1, 401)


def test_a_provider_that_is_down_never_fails_the_request(client: TestClient,
                                                         hooks: TestClient) -> None:
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    make_trigger(client, statuses={"api_base": down, "token": TOKEN})
    started = time.monotonic()
    response = deliver_pr(hooks)
    assert response.status_code == 201 and time.monotonic() - started < 5
    (sweep_id,) = response.json()["sweep_ids"]
    (row,) = _wait_statuses(client, sweep_id, 1)
    assert (row["outcome"], row["attempts"], row["response_status"]) == ("failed", 3, None)
    assert "ConnectError" in row["last_error"]


def test_a_ci_sweep_reports_through_its_repositorys_trigger(client: TestClient) -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    with StatusRecorder() as github:
        make_trigger(client, statuses={"api_base": github.url, "token": TOKEN})
        created = client.post("/api/v1/sweeps", json=template(), params={
            "source": "ci", "repo": REPO.lower(), "ref": "refs/heads/main", "sha": sha})
        assert created.status_code == 201, created.text
        (pending,) = github.wait_for(1, timeout=20)
    assert pending.path == f"/repos/{REPO.lower()}/statuses/{sha}"
    sweep = client.get(f"/api/v1/sweeps/{created.json()['id']}").json()
    assert (sweep["source"], sweep["sha"], sweep["ref"]) == ("ci", sha, "refs/heads/main")
    # Without a reporting trigger for the repository, a CI sweep posts nothing.
    other = client.post("/api/v1/sweeps", json=template(), params={
        "source": "ci", "repo": "someone/else", "sha": sha}).json()
    assert _statuses(client, other["id"]) == []


def test_an_unsent_pending_is_superseded_by_the_verdict(
        settings: Settings, enqueuer: RecordingEnqueuer, app: FastAPI) -> None:
    """With the notifier idle, the sweep ends before its pending is sent: only the verdict
    goes out (a late pending must never overwrite it). ``app`` empties the tables after."""
    idle = create_app(settings.model_copy(update={"status_poll_interval_s": 0}), enqueuer)
    with StatusRecorder() as github, TestClient(idle, headers={
            "Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
        make_trigger(client, statuses={"api_base": github.url, "token": TOKEN})
        (sweep_id,) = deliver_pr(client).json()["sweep_ids"]
        finish_sweep(client, sweep_id, compressed(drop=0.004, speedup=1.6))
        assert github.seen() == []
        assert idle.state.notifier.tick() == ["sent"]
        (final,) = github.seen()
        rows = _statuses(client, sweep_id)
    assert final.body["state"] == "success"
    assert [(r["state"], r["outcome"]) for r in rows] == [("pending", "superseded"),
                                                        ("success", "sent")]
    idle.state.db.dispose()


def test_a_failed_run_fails_the_commit_and_a_retry_reopens_it(
        client: TestClient, hooks: TestClient) -> None:
    with StatusRecorder() as github:
        make_trigger(client, statuses={"api_base": github.url, "token": TOKEN})
        (sweep_id,) = deliver_pr(hooks).json()["sweep_ids"]
        github.wait_for(1, timeout=20)
        runs = client.get("/api/v1/runs", params={"sweep_id": sweep_id, "kind": "baseline"})
        (baseline,) = runs.json()["items"]
        client.post(f"/api/v1/runs/{baseline['id']}/claim", json={"worker_id": "w"})
        failed = client.post(f"/api/v1/runs/{baseline['id']}/fail", json={
            "worker_id": "w", "error": {"type": "RuntimeError", "message": "out of memory"},
            "retryable": False})
        assert failed.status_code == 200, failed.text
        failure = github.wait_for(2, timeout=20)[1]
        assert client.post(f"/api/v1/sweeps/{sweep_id}/retry-failed").status_code == 200
        again = github.wait_for(3, timeout=20)[2]
        finish_sweep(client, sweep_id, compressed(drop=0.004, speedup=1.6))
        success = github.wait_for(4, timeout=20)[3]
    assert (failure.body["state"], failure.body["description"]) == (
        "failure", "3 runs failed; no gates: no compressed run succeeded")
    assert (again.body["state"], again.body["description"]) == (
        "pending", f"sweep ci-{PR_SHA}: 3 failed runs retried")
    assert success.body["state"] == "success"
