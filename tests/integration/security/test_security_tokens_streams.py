"""Issue 14, item 8 and a leftover of item 6: an open event stream ends once its token is
revoked; /metrics needs a token unless made public; token listings show a prefix of the
hash, never characters of the secret; a NUL (or a lone surrogate) anywhere in a JSON body
or a spec is a 422 naming where, as PostgreSQL can store neither."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ghfixtures import REPO, branch_push
from polling import wait_for
from securityhelpers import (
    ADMIN_TOKEN,
    SHA,
    deliver_github,
    make_trigger,
    pointers,
    problem,
    serving,
    spec,
)

from api.settings import Settings

pytestmark = pytest.mark.integration
TRIGGER_REPO = "octo-org/nul-checks"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Streams re-check their token every 50 ms, not every 15 s."""
    return settings.model_copy(update={"stream_recheck_s": 0.05})


def _token(client: TestClient, name: str, scopes: list[str]) -> dict[str, Any]:
    response = client.post("/api/v1/tokens", json={"name": name, "scopes": scopes})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _subscribers(app: FastAPI) -> int:
    count: int = app.state.events.subscriber_count
    return count


def test_an_open_stream_ends_once_its_token_is_revoked(app: FastAPI,
                                                       client: TestClient) -> None:
    reader = _token(client, "dashboard", ["read"])
    lines: dict[str, list[str]] = {"revoked": [], "kept": []}

    def listen(name: str, token: str) -> None:
        with client.stream("GET", "/api/v1/events", params={"max_events": 1},
                           headers=_bearer(token)) as response:
            lines[name].extend(response.iter_lines())

    listeners = [threading.Thread(target=listen, args=("revoked", reader["token"]),
                                  daemon=True),
                 threading.Thread(target=listen, args=("kept", ADMIN_TOKEN), daemon=True)]
    for listener in listeners:
        listener.start()
    wait_for(lambda: _subscribers(app) == 2, timeout=10, what="two SSE subscriptions")
    # Re-checks open a short session each: between them no stream holds a connection.
    wait_for(lambda: app.state.db.engine.pool.checkedout() == 0, timeout=10,
             what="no pooled connection held by the open streams")
    assert client.delete(f"/api/v1/tokens/{reader['id']}").status_code == 204
    try:
        wait_for(lambda: _subscribers(app) == 1, timeout=10,
                 what="the stream of the revoked token to end")
    finally:  # one event ends every stream still open (each takes one)
        app.state.events.publish(None, {"type": "worker", "worker_id": "w-1"})
        for listener in listeners:
            listener.join(timeout=10)
    assert not any(listener.is_alive() for listener in listeners)
    assert not [line for line in lines["revoked"] if line.startswith("data:")]
    assert ": the token is revoked, or could not be re-checked" in lines["revoked"]
    # The admin's stream outlived many re-checks and still got the event.
    assert [line for line in lines["kept"] if line.startswith("data:")] == [
        'data: {"type": "worker", "worker_id": "w-1", "sweep_id": null}']


def test_metrics_needs_a_token_unless_made_public(settings: Settings, client: TestClient,
                                                   hooks: TestClient) -> None:
    problem(hooks.get("/metrics"), 401)
    scraper = _token(client, "prometheus", ["metrics"])
    scraped = hooks.get("/metrics", headers=_bearer(scraper["token"]))
    assert scraped.status_code == 200 and "squeezelab_http_requests_total" in scraped.text
    problem(hooks.get("/api/v1/sweeps", headers=_bearer(scraper["token"])), 403)
    reader = _token(client, "dashboard", ["read"])
    assert hooks.get("/metrics", headers=_bearer(reader["token"])).status_code == 200
    with serving(settings.model_copy(update={"metrics_auth": "public"})) as public_app, \
            TestClient(public_app, raise_server_exceptions=False) as anonymous:
        assert anonymous.get("/metrics").status_code == 200
        problem(anonymous.get("/api/v1/sweeps"), 401)


def test_token_listings_show_a_hash_prefix_never_the_secret(client: TestClient) -> None:
    created = _token(client, "ci-github", ["write"])
    listing = client.get("/api/v1/tokens")
    assert listing.status_code == 200
    prefixes = {t["name"]: t["prefix"] for t in listing.json()["items"]}
    for name, secret in (("ci-github", created["token"]), ("bootstrap-admin", ADMIN_TOKEN)):
        assert prefixes[name] == hashlib.sha256(secret.encode()).hexdigest()[:12]
        assert not [secret[i:i + 8] for i in range(len(secret) - 7)
                    if secret[i:i + 8] in listing.text], f"{name}'s secret shows"
    assert created["prefix"] == prefixes["ci-github"]


def _running_run(client: TestClient) -> int:
    """A baseline run claimed by worker w-1 (with the admin token)."""
    response = client.post("/api/v1/sweeps", json=spec())
    assert response.status_code == 201, response.text
    run_id: int = response.json()["baseline_run_ids"][0]
    claimed = client.post(f"/api/v1/runs/{run_id}/claim", json={"worker_id": "w-1"})
    assert claimed.status_code == 200, claimed.text
    return run_id


def _trigger_id(client: TestClient) -> int:
    make_trigger(client, "github", TRIGGER_REPO)
    trigger_id: int = client.get("/api/v1/triggers").json()["items"][0]["id"]
    return trigger_id


NUL = "\x00"
# (method, path from a client, body, pointers of the 422): every JSON body FastAPI decodes,
# and the metric batch, which its route decodes (sweeps and webhooks have tests of their own).
CASES = [
    pytest.param("POST", lambda c: "/api/v1/tokens", {"name": f"ci{NUL}", "scopes": ["read"]},
                 {"/name"}, id="token"),
    pytest.param("POST", lambda c: "/api/v1/workers",
                 {"id": "w-1", "hostname": f"box{NUL}", "queues": ["cpu"],
                  "hardware": {f"gpu{NUL}": "H100", "cpu": ["x", f"y{NUL}"]}},
                 {"/hostname", f"/hardware/gpu{NUL}", "/hardware/cpu/1"}, id="worker"),
    pytest.param("POST", lambda c: "/api/v1/triggers",
                 {"name": f"pushes{NUL}", "provider": "github", "repository": "o/r",
                  "template": spec(name=f"ci{NUL}")},
                 {"/name", "/template/name"}, id="trigger"),
    pytest.param("PATCH", lambda c: f"/api/v1/triggers/{_trigger_id(c)}", {"name": f"n{NUL}"},
                 {"/name"}, id="trigger-update"),
    pytest.param("POST", lambda c: f"/api/v1/runs/{_running_run(c)}/complete",
                 {"worker_id": "w-1",
                  "summary": {"accuracy": 0.9, "layer_sparsity": {f"fc{NUL}": 0.5},
                              "hardware": {"cpu": f"Xeon{NUL}"}}},
                 {f"/summary/layer_sparsity/fc{NUL}", "/summary/hardware/cpu"}, id="complete"),
    pytest.param("POST", lambda c: f"/api/v1/runs/{_running_run(c)}/fail",
                 {"worker_id": "w-1", "error": {"type": "ValueError", "message": f"bad{NUL}",
                                                "traceback": f"tb{NUL}"}},
                 {"/error/message", "/error/traceback"}, id="fail"),
    pytest.param("POST", lambda c: f"/api/v1/runs/{_running_run(c)}/metrics",
                 {"points": [{"key": "lr", "step": 1, "value": 0.1},
                             {"key": f"lr{NUL}", "step": 2, "value": 0.1}]},
                 {"/points/1/key"}, id="metrics"),
    pytest.param("POST", lambda c: f"/api/v1/runs/{_running_run(c)}/heartbeat",
                 {"worker_id": f"w-1{NUL}"}, {"/worker_id"}, id="heartbeat"),
]


@pytest.mark.parametrize(("method", "path", "body", "expected"), CASES)
def test_a_nul_anywhere_in_a_json_body_is_a_422_naming_it(
        client: TestClient, method: str, path: Callable[[TestClient], str],
        body: dict[str, Any], expected: set[str]) -> None:
    assert pointers(client.request(method, path(client), json=body)) == expected


def test_a_refused_nul_stores_nothing_and_an_escaped_backslash_is_no_nul(
        client: TestClient) -> None:
    run_id = _running_run(client)
    response = client.post(f"/api/v1/runs/{run_id}/complete", json={
        "worker_id": "w-1", "summary": {"accuracy": 0.9, "hardware": {"cpu": NUL}}})
    problem(response, 422)
    assert client.get(f"/api/v1/runs/{run_id}").json()["status"] == "running"
    # An escaped backslash before "u0000" is no NUL: the same body without one is taken.
    response = client.post(f"/api/v1/runs/{run_id}/complete", json={
        "worker_id": "w-1", "summary": {"accuracy": 0.9, "hardware": {"cpu": "\\u0000"}}})
    assert response.status_code == 200, response.text


def test_a_lone_surrogate_is_a_422_and_an_escaped_pair_is_a_character(
        client: TestClient) -> None:
    # Sent as text: a lone surrogate has no UTF-8 form, so only its JSON escape can carry it.
    body = ('{"id": "w-1", "hostname": "h", "queues": ["cpu"], '
            '"hardware": {"gpu": "a\\ud800b", "emoji": "\\ud83d\\ude00"}}')
    headers = {"Content-Type": "application/json"}
    response = client.post("/api/v1/workers", content=body, headers=headers)
    assert pointers(response) == {"/hardware/gpu"}
    response = client.post("/api/v1/workers", content=body.replace("a\\ud800b", "H100"),
                           headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["hardware"] == {"gpu": "H100", "emoji": "\U0001f600"}


def test_a_signed_github_ref_with_a_lone_surrogate_is_not_stored(
        client: TestClient, hooks: TestClient) -> None:
    make_trigger(client, "github", REPO)
    # json.dumps writes the surrogate as its escape, as the sender's JSON would carry it.
    response = deliver_github(hooks, "push", branch_push(SHA, ref="refs/heads/ma\ud800in"))
    assert response.status_code in (201, 202), response.text
    (delivery,) = client.get("/api/v1/webhooks/deliveries").json()["items"]
    assert delivery["ref"] is None and delivery["sha"] == SHA


@pytest.mark.parametrize("media", ["application/json", "application/yaml"])
def test_a_lone_surrogate_in_a_spec_is_a_422(client: TestClient, media: str) -> None:
    inline = {"name": "t", "model": {"python": "m:build", "kwargs": {"k": "SURROGATE"}},
              "data": {"python": "m:data"}}
    # JSON is YAML: both decoders turn the escape into a lone surrogate.
    body = json.dumps(spec(task=inline)).replace("SURROGATE", "a\\ud800")
    response = client.post("/api/v1/sweeps", content=body, headers={"Content-Type": media})
    assert pointers(response) == {"/task/model/kwargs/k"}
