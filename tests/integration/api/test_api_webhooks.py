"""Webhook deliveries on SQLite and PostgreSQL: real GitHub payloads signed as GitHub signs
them, GitLab's token, the generic webhook's timestamped HMAC, and every way to be refused."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from apihelpers import RecordingEnqueuer, assert_problem
from cihelpers import (
    PR_SHA,
    SECRET,
    deliver,
    deliver_pr,
    generic_headers,
    make_trigger,
)
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ghfixtures import REPO, branch_push, github_headers, payload

from api.settings import Settings

pytestmark = pytest.mark.integration
SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"


@pytest.fixture
def hooks(app: FastAPI, client: TestClient) -> Iterator[TestClient]:
    """Deliveries carry a signature, not an API token: a client without one."""
    with TestClient(app, raise_server_exceptions=False) as plain:
        yield plain


def _sweeps(client: TestClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/api/v1/sweeps").json()["items"]
    return items


def _deliveries(client: TestClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/api/v1/webhooks/deliveries").json()["items"]
    return items


def test_signed_pull_request_creates_a_sweep_tagged_with_its_head(
        client: TestClient, hooks: TestClient, enqueuer: RecordingEnqueuer) -> None:
    make_trigger(client)
    response = deliver_pr(hooks, delivery="pr-1")
    assert response.status_code == 201, response.text
    result = response.json()
    assert (result["outcome"], result["duplicate"], result["event"]) == (
        "created", False, "pull_request")
    (sweep_id,) = result["sweep_ids"]
    sweep = client.get(f"/api/v1/sweeps/{sweep_id}").json()
    assert (sweep["source"], sweep["repo"], sweep["sha"], sweep["ref"], sweep["name"]) == (
        "webhook", REPO, PR_SHA, "refs/pull/2/head", f"ci-{PR_SHA}")
    assert sweep["spec"]["name"] == f"ci-{PR_SHA}" and sweep["run_count"] == 3
    baseline = [r["id"] for r in client.get("/api/v1/runs", params={
        "sweep_id": sweep_id, "kind": "baseline"}).json()["items"]]
    assert enqueuer.run_ids == baseline
    (recorded,) = _deliveries(client)
    assert (recorded["delivery_id"], recorded["outcome"], recorded["sha"],
            recorded["sweep_ids"]) == ("pr-1", "created", PR_SHA, [sweep_id])


def test_a_branch_push_creates_a_sweep_on_its_head(client: TestClient,
                                                   hooks: TestClient) -> None:
    make_trigger(client, branches=["main"])
    response = deliver(hooks, "push", branch_push(SHA))
    assert response.status_code == 201, response.text
    (sweep,) = _sweeps(client)
    assert (sweep["sha"], sweep["ref"]) == (SHA, "refs/heads/main")


def test_a_replayed_delivery_creates_no_second_sweep(client: TestClient,
                                                     hooks: TestClient) -> None:
    make_trigger(client)
    body = payload("pull_request/opened.payload.json")
    headers = github_headers(body, SECRET, "pull_request", "same-delivery")
    first = hooks.post("/api/v1/webhooks/github", content=body, headers=headers)
    again = hooks.post("/api/v1/webhooks/github", content=body, headers=headers)
    assert first.status_code == 201 and again.status_code == 200, again.text
    assert again.json()["duplicate"] is True
    assert again.json()["sweep_ids"] == first.json()["sweep_ids"]
    assert len(_sweeps(client)) == 1 and len(_deliveries(client)) == 1


def test_copies_of_one_delivery_arriving_at_once_create_one_sweep(
        client: TestClient, hooks: TestClient) -> None:
    make_trigger(client)
    body = payload("pull_request/opened.payload.json")
    headers = github_headers(body, SECRET, "pull_request", "raced-delivery")
    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(lambda _: hooks.post("/api/v1/webhooks/github", content=body,
                                                     headers=headers).status_code, range(4)))
    assert codes == [200, 200, 200, 201]
    assert len(_sweeps(client)) == 1


def _refusals(hooks: TestClient) -> list[Any]:
    body = payload("pull_request/opened.payload.json")
    good = github_headers(body, SECRET, "pull_request")
    tampered = body.replace(b'"opened"', b'"reopened"')
    other_repo = json.dumps({**json.loads(body), "repository": {"full_name": "x/y"}}).encode()
    without = {k: v for k, v in good.items() if k != "X-Hub-Signature-256"}
    post = hooks.post
    return [
        post("/api/v1/webhooks/github", content=body,
             headers=github_headers(body, "not the secret at all", "pull_request")),
        post("/api/v1/webhooks/github", content=tampered, headers=good),
        post("/api/v1/webhooks/github", content=body, headers=without),
        post("/api/v1/webhooks/github", content=body,
             headers={**good, "X-Hub-Signature-256": good["X-Hub-Signature-256"].upper()}),
        # A repository without a trigger: no secret can verify it.
        post("/api/v1/webhooks/github", content=other_repo,
             headers=github_headers(other_repo, SECRET, "pull_request")),
    ]


def test_bad_signatures_get_one_401_that_does_not_say_what_failed(
        client: TestClient, hooks: TestClient) -> None:
    make_trigger(client)
    bodies = []
    for response in _refusals(hooks):
        problem = assert_problem(response, 401)
        bodies.append({k: problem[k] for k in ("type", "title", "detail")})
    assert all(b == bodies[0] for b in bodies), bodies
    assert bodies[0]["detail"] == "the webhook delivery could not be authenticated"
    assert _sweeps(client) == [] and _deliveries(client) == []


def test_a_delivery_runs_only_the_triggers_whose_secret_signed_it(
        client: TestClient, hooks: TestClient) -> None:
    make_trigger(client, name="mine")
    make_trigger(client, name="theirs", secret="a different secret, 32 chars long")
    response = deliver_pr(hooks)
    assert response.status_code == 201
    assert len(response.json()["sweep_ids"]) == 1 and len(_sweeps(client)) == 1


@pytest.mark.parametrize("missing", ["X-GitHub-Event", "X-GitHub-Delivery"])
def test_missing_github_headers_are_422(client: TestClient, hooks: TestClient,
                                        missing: str) -> None:
    make_trigger(client)
    body = payload("pull_request/opened.payload.json")
    headers = {k: v for k, v in github_headers(body, SECRET, "pull_request").items()
               if k != missing}
    problem = assert_problem(hooks.post("/api/v1/webhooks/github", content=body,
                                        headers=headers), 422)
    assert problem["errors"][0]["pointer"] == f"header:/{missing.lower()}"
    assert _sweeps(client) == []


def test_unknown_event_is_recorded_and_ignored_with_its_reason(
        client: TestClient, hooks: TestClient) -> None:
    make_trigger(client)
    response = deliver(hooks, "check_suite", payload("check_suite/requested.payload.json"))
    assert response.status_code == 202, response.text
    result = response.json()
    assert result["outcome"] == "ignored" and result["sweep_ids"] == []
    assert "not check_suite" in result["reason"]
    assert _deliveries(client)[0]["event"] == "check_suite" and _sweeps(client) == []


def test_the_deleted_tag_push_fixture_runs_nothing(client: TestClient,
                                                   hooks: TestClient) -> None:
    make_trigger(client, events=["push", "tag"])
    response = deliver(hooks, "push", payload("push/payload.json"))
    assert response.status_code == 202
    assert response.json()["reason"] == "refs/tags/simple-tag was deleted"
    assert _sweeps(client) == []


def test_a_branch_no_trigger_follows_is_ignored(client: TestClient, hooks: TestClient) -> None:
    make_trigger(client, branches=["main", "release/*"])
    response = deliver(hooks, "push", branch_push(SHA, "refs/heads/feature/x"))
    assert response.status_code == 202
    assert "branch feature/x matches none of main, release/*" in response.json()["reason"]


def test_ping_is_answered_200(client: TestClient, hooks: TestClient) -> None:
    make_trigger(client, repository="Octocoders/Hello-World")
    response = deliver(hooks, "ping", payload("ping/payload.json"))
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "ping"


def test_oversized_body_is_413(client: TestClient, hooks: TestClient,
                               settings: Settings) -> None:
    make_trigger(client)
    big = b'{"pad": "' + b"x" * settings.max_body_bytes + b'"}'
    problem = assert_problem(deliver(hooks, "push", big), 413)
    assert "limit" in problem["detail"] and _deliveries(client) == []


def test_a_body_that_is_not_json_is_refused(client: TestClient, hooks: TestClient) -> None:
    make_trigger(client)
    body = b"payload=%7B%7D"
    form = {**github_headers(body, SECRET, "push"),
            "Content-Type": "application/x-www-form-urlencoded"}
    assert_problem(hooks.post("/api/v1/webhooks/github", content=body, headers=form), 415)
    assert_problem(deliver(hooks, "push", b"[1, 2]"), 422)


def _gitlab_push(sha: str) -> bytes:
    return json.dumps({"object_kind": "push", "ref": "refs/heads/main", "after": sha,
                       "checkout_sha": sha,
                       "project": {"path_with_namespace": "group/vision"}}).encode()


def test_gitlab_token_and_idempotency_key(client: TestClient, hooks: TestClient) -> None:
    make_trigger(client, provider="gitlab", repository="group/vision", events=["push"])
    body = _gitlab_push(SHA)
    headers = {"Content-Type": "application/json", "X-Gitlab-Event": "Push Hook",
               "X-Gitlab-Token": SECRET, "Idempotency-Key": "gl-1"}
    first = hooks.post("/api/v1/webhooks/gitlab", content=body, headers=headers)
    assert first.status_code == 201, first.text
    again = hooks.post("/api/v1/webhooks/gitlab", content=body, headers=headers)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    by_uuid = {**{k: v for k, v in headers.items() if k != "Idempotency-Key"},
               "X-Gitlab-Webhook-UUID": "gl-2"}
    assert hooks.post("/api/v1/webhooks/gitlab", content=body,
                      headers=by_uuid).status_code == 201
    assert_problem(hooks.post("/api/v1/webhooks/gitlab", content=body, headers={
        **headers, "X-Gitlab-Token": SECRET + "x", "Idempotency-Key": "gl-3"}), 401)
    no_id = {k: v for k, v in headers.items() if k != "Idempotency-Key"}
    problem = assert_problem(hooks.post("/api/v1/webhooks/gitlab", content=body,
                                        headers=no_id), 422)
    assert problem["errors"][0]["pointer"] == "header:/idempotency-key"
    assert [s["sha"] for s in _sweeps(client)] == [SHA, SHA]


def _generic(delivery: str = "build-1") -> bytes:
    return json.dumps({"delivery_id": delivery, "event": "push", "repository": REPO,
                       "ref": "refs/heads/main", "sha": SHA}).encode()


def test_generic_webhook_is_signed_over_timestamp_and_body(
        client: TestClient, hooks: TestClient) -> None:
    make_trigger(client, provider="generic")
    body = _generic()
    headers = generic_headers(body)
    first = hooks.post("/api/v1/webhooks/generic", content=body, headers=headers)
    assert first.status_code == 201, first.text
    replay = hooks.post("/api/v1/webhooks/generic", content=body, headers=headers)
    assert replay.status_code == 200 and replay.json()["duplicate"] is True
    # Re-stamping a captured request without the secret breaks its signature.
    restamped = {**headers, "X-Squeezelab-Timestamp": str(int(time.time()) + 1)}
    assert_problem(hooks.post("/api/v1/webhooks/generic", content=_generic("build-2"),
                              headers=restamped), 401)
    assert len(_sweeps(client)) == 1


@pytest.mark.parametrize("offset", [-310, 310, -3600])  # whole seconds: see the unit test
def test_generic_timestamp_outside_the_tolerance_is_401(
        client: TestClient, hooks: TestClient, offset: int) -> None:
    make_trigger(client, provider="generic")
    body = _generic()
    stale = generic_headers(body, at=time.time() + offset)
    problem = assert_problem(hooks.post("/api/v1/webhooks/generic", content=body,
                                        headers=stale), 401)
    assert problem["detail"] == "the webhook delivery could not be authenticated"
    fresh = generic_headers(body, at=time.time() - 240)
    assert hooks.post("/api/v1/webhooks/generic", content=body,
                      headers=fresh).status_code == 201


def test_generic_missing_headers_are_401(client: TestClient, hooks: TestClient) -> None:
    make_trigger(client, provider="generic")
    body = _generic()
    for drop in ("X-Squeezelab-Timestamp", "X-Squeezelab-Signature"):
        headers = {k: v for k, v in generic_headers(body).items() if k != drop}
        assert_problem(hooks.post("/api/v1/webhooks/generic", content=body,
                                  headers=headers), 401)
    assert _sweeps(client) == []
