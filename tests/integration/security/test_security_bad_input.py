"""Issue 14, item 6: input that used to end in a 500 (a RecursionError, or a value that
PostgreSQL refuses after the API accepted it) is a 4xx problem+json."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ghfixtures import REPO, branch_push
from securityhelpers import (
    GENERIC_REPO,
    SHA,
    deliver_generic,
    deliver_generic_at,
    deliver_github,
    make_trigger,
    nested_json,
    pointers,
    problem,
    spec,
    sweeps,
)

pytestmark = pytest.mark.integration
DEEP = 100_000


@pytest.mark.parametrize("media", ["application/json", "application/yaml"])
def test_a_deeply_nested_spec_is_a_422(client: TestClient, media: str) -> None:
    response = client.post("/api/v1/sweeps", content=nested_json(DEEP),
                           headers={"Content-Type": media})
    assert "nested too deeply" in problem(response, 422)["errors"][0]["detail"]


def test_a_spec_nested_past_the_limit_is_refused(client: TestClient) -> None:
    deep: Any = 0
    for _ in range(40):  # decodable, but deeper than any spec (32 levels)
        deep = [deep]
    inline = {"name": "t", "model": {"python": "m:build", "kwargs": {"deep": deep}},
              "data": {"python": "m:data"}}
    response = client.post("/api/v1/sweeps", json=spec(task=inline))
    assert any(p.startswith("/task/model/kwargs/deep/0/0") for p in pointers(response))


@pytest.mark.parametrize("provider", ["github", "gitlab", "generic"])
def test_a_deeply_nested_webhook_body_is_a_422_without_authentication(
        hooks: TestClient, provider: str) -> None:
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push",
               "X-GitHub-Delivery": "d-1", "X-Gitlab-Event": "Push Hook",
               "Idempotency-Key": "d-1"}
    response = hooks.post(f"/api/v1/webhooks/{provider}", headers=headers,
                          content=b"[" * DEEP + b"]" * DEEP)
    problem(response, 422)


@pytest.mark.parametrize(("overrides", "pointer"), [
    ({"baseline": {"optimizer": {"lr": float("inf")}}}, "/baseline/optimizer/lr"),
    ({"gates": {"max_metric_drop": float("inf")}}, "/gates/max_metric_drop"),
    ({"seeds": [0, 2**31]}, "/seeds/1"),
    ({"name": "nul\x00name"}, "/name"),
    ({"name": "two\nlines"}, "/name"),
    ({"task": {"name": "t", "description": "a\x00b", "model": {"python": "m:build"},
               "data": {"python": "m:data"}}}, "/task/description"),
    ({"task": {"name": "t", "model": {"python": "m:build", "kwargs": {"x": float("inf")}},
               "data": {"python": "m:data"}}}, "/task/model/kwargs/x"),
])
def test_values_postgresql_refuses_are_refused_by_the_dry_run_and_on_submit(
        client: TestClient, overrides: dict[str, Any], pointer: str) -> None:
    body = json.dumps(spec(**overrides))  # Infinity and NaN as Python's json writes them
    for dry_run in ("true", "false"):
        response = client.post("/api/v1/sweeps", params={"dry_run": dry_run}, content=body,
                               headers={"Content-Type": "application/json"})
        found = pointers(response)
        assert pointer in found or any(p.startswith(pointer + "/") for p in found), found
    assert sweeps(client) == []


@pytest.mark.parametrize("yaml_value", ["!!binary aGVsbG8=", '"a\\0b"'])
def test_yaml_values_json_cannot_hold_are_refused(client: TestClient, yaml_value: str) -> None:
    text = f"name: {yaml_value}\ntask: digits-mlp\n"
    response = client.post("/api/v1/sweeps", content=text,
                           headers={"Content-Type": "application/yaml"})
    assert pointers(response) == {"/name"}
    assert sweeps(client) == []


def _cursor(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(("path", "params", "data"), [
    ("/api/v1/runs", {}, {"after": True}),
    ("/api/v1/runs", {}, {"after": 10**29}),
    ("/api/v1/runs", {}, {"after": 1e29}),  # a float: refused before as well
    ("/api/v1/runs", {"sort": "-name"}, {"offset": -1}),
    ("/api/v1/runs", {"sort": "name"}, {"offset": 10**29}),
    ("/api/v1/sweeps", {}, {"before": True}),
    ("/api/v1/sweeps", {}, {"before": -(10**20)}),
])
def test_hand_made_cursors_are_a_422(client: TestClient, path: str, params: dict[str, str],
                                     data: dict[str, Any]) -> None:
    client.post("/api/v1/sweeps", json=spec())
    response = client.get(path, params={**params, "cursor": _cursor(data)})
    assert pointers(response) == {"query:/cursor"}


def test_a_hand_made_dry_run_cursor_is_a_422(client: TestClient) -> None:
    response = client.post("/api/v1/sweeps", json=spec(),
                           params={"dry_run": "true", "cursor": _cursor({"offset": -1})})
    assert pointers(response) == {"query:/cursor"}


def test_a_nul_in_a_query_parameter_is_a_422(client: TestClient) -> None:
    for path in ("/api/v1/sweeps?name=a%00b", "/api/v1/runs?variant=%00"):
        assert "NUL" in problem(client.get(path), 422)["detail"]


@pytest.mark.parametrize("stamp", ["¹²³".encode("latin-1"), "²".encode("latin-1")])
def test_a_generic_timestamp_of_unicode_digits_is_a_401(
        app: FastAPI, client: TestClient, stamp: bytes) -> None:
    assert stamp.decode("latin-1").isdigit()  # and int() refuses it
    make_trigger(client, "generic", GENERIC_REPO)
    response = deliver_generic_at(app, {"delivery_id": "d-1", "event": "push",
                                        "repository": GENERIC_REPO, "sha": SHA}, stamp)
    problem(response, 401)


def test_a_signed_generic_ref_with_a_nul_is_a_422(client: TestClient,
                                                  hooks: TestClient) -> None:
    make_trigger(client, "generic", GENERIC_REPO)
    for field, value in (("ref", "refs/heads/ma\x00in"), ("delivery_id", "d\x001")):
        payload = {"delivery_id": "d-1", "event": "push", "repository": GENERIC_REPO,
                   "ref": "refs/heads/main", "sha": SHA, field: value}
        assert pointers(deliver_generic(hooks, payload)) == {f"/{field}"}
    assert sweeps(client) == []


def test_a_signed_github_ref_with_a_nul_is_not_stored(client: TestClient,
                                                      hooks: TestClient) -> None:
    make_trigger(client, "github", REPO)
    response = deliver_github(hooks, "push", branch_push(SHA, ref="refs/heads/ma\x00in"))
    assert response.status_code in (201, 202), response.text
    (delivery,) = client.get("/api/v1/webhooks/deliveries").json()["items"]
    assert delivery["ref"] is None and delivery["sha"] == SHA


def test_an_unsigned_repository_name_with_a_nul_is_a_422(client: TestClient,
                                                         hooks: TestClient) -> None:
    make_trigger(client, "github", REPO)
    body = json.dumps({"ref": "refs/heads/main", "after": SHA,
                       "repository": {"full_name": REPO + "\x00"}}).encode()
    response = hooks.post("/api/v1/webhooks/github", content=body, headers={
        "Content-Type": "application/json", "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": "sha256=00"})
    assert "names no repository" in problem(response, 422)["detail"]


def test_a_deeply_nested_trigger_template_is_a_422(client: TestClient) -> None:
    depth = 900  # decodable, then rendered and validated: once a RecursionError
    template = '{"name": "ci-${sha}", "task": "digits-mlp", "x": ' + "[" * depth + "]" * depth
    body = ('{"name": "deep", "provider": "github", "repository": "o/r", "template": '
            + template + "}}")
    response = client.post("/api/v1/triggers", content=body,
                           headers={"Content-Type": "application/json"})
    assert any(p.startswith("/template/x/0") for p in pointers(response))
