"""Triggers through the API: CRUD, write-only secrets and tokens, template validation,
scopes."""

from __future__ import annotations

from typing import Any

import pytest
from apihelpers import assert_problem
from cihelpers import SECRET, deliver_pr, make_trigger, template
from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration
TOKEN = "ghp_status-token-that-must-never-be-shown"


def _everything_shown(client: TestClient, trigger_id: int) -> str:
    return (client.get("/api/v1/triggers").text + client.get(f"/api/v1/triggers/{trigger_id}").text)


def test_secrets_and_tokens_are_write_only(client: TestClient) -> None:
    created = make_trigger(client, statuses={"token": TOKEN})
    assert created["secret"] is None and created["has_secret"] is True
    assert created["statuses"] == {"api": "github", "api_base": "https://api.github.com",
                                   "has_token": True}
    shown = _everything_shown(client, created["id"])
    assert SECRET not in shown and TOKEN not in shown and '"has_secret":true' in shown
    assert "token" not in client.get(f"/api/v1/triggers/{created['id']}").json()["statuses"]


def test_a_generated_secret_is_shown_once(client: TestClient) -> None:
    body = {"name": "gen", "provider": "github", "repository": "octo/models",
            "template": template()}
    created = client.post("/api/v1/triggers", json=body).json()
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert secret not in _everything_shown(client, created["id"])


def test_update_and_delete(client: TestClient) -> None:
    created = make_trigger(client, statuses={"token": TOKEN})
    url = f"/api/v1/triggers/{created['id']}"
    changed = client.patch(url, json={"branches": ["main", "release/*"], "enabled": False,
                                      "events": ["tag", "tag"]})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["branches"], body["enabled"], body["events"], body["name"]) == (
        ["main", "release/*"], False, ["tag"], "ci")
    assert body["statuses"]["has_token"] is True  # untouched
    off = client.patch(url, json={"statuses": None}).json()
    assert off["statuses"] is None
    assert client.delete(url).status_code == 204
    assert_problem(client.get(url), 404)
    assert_problem(client.delete(url), 404)


def test_a_rotated_secret_replaces_the_old_one(client: TestClient) -> None:
    created = make_trigger(client)
    new = "the rotated secret, long enough"
    assert client.patch(f"/api/v1/triggers/{created['id']}",
                        json={"secret": new}).status_code == 200
    with TestClient(client.app, raise_server_exceptions=False) as hooks:
        assert_problem(deliver_pr(hooks), 401)
        assert deliver_pr(hooks, secret=new).status_code == 201


@pytest.mark.parametrize("fields, pointer", [
    ({"template": {"name": "ci-${sha}", "task": "digits-mlp", "seeds": "many"}},
     "/template/seeds"),
    ({"template": {"task": "digits-mlp"}}, "/template/name"),
    ({"provider": "generic", "statuses": {"token": TOKEN}}, "/statuses/api"),
    ({"repository": "not a repo"}, "/repository"),
    ({"events": ["push", "workflow_run"]}, "/events/1"),
    ({"secret": "short"}, "/secret"),
])
def test_invalid_triggers_are_422_with_a_pointer(client: TestClient, fields: dict[str, Any],
                                                 pointer: str) -> None:
    body = {"name": "bad", "provider": "github", "repository": "octo/models",
            "template": template(), "secret": SECRET, **fields}
    problem = assert_problem(client.post("/api/v1/triggers", json=body), 422)
    assert pointer in [e["pointer"] for e in problem["errors"]], problem
    assert client.get("/api/v1/triggers").json()["items"] == []


def test_invalid_template_update_changes_nothing(client: TestClient) -> None:
    created = make_trigger(client)
    url = f"/api/v1/triggers/{created['id']}"
    assert_problem(client.patch(url, json={"template": {"name": "x"}, "branches": ["dev"]}),
                   422)
    assert client.get(url).json()["branches"] == []


def test_triggers_need_admin_to_change_and_read_to_see(client: TestClient) -> None:
    created = make_trigger(client)
    reader = client.post("/api/v1/tokens", json={"name": "r", "scopes": ["read", "write"]})
    auth = {"Authorization": f"Bearer {reader.json()['token']}"}
    assert client.get("/api/v1/triggers", headers=auth).status_code == 200
    assert_problem(client.post("/api/v1/triggers", headers=auth, json={}), 403)
    assert_problem(client.delete(f"/api/v1/triggers/{created['id']}", headers=auth), 403)
    assert_problem(client.get("/api/v1/triggers", headers={"Authorization": ""}), 401)
