"""Tokens and scopes: hashed at rest, 401 without a token, 403 without the scope."""

from __future__ import annotations

import pytest
from apihelpers import assert_problem, small_spec
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.models import ApiToken
from api.services.tokens import hash_token

pytestmark = pytest.mark.integration


def _token(client: TestClient, *scopes: str) -> str:
    response = client.post("/api/v1/tokens", json={"name": "t", "scopes": list(scopes)})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_no_or_bad_token_is_401(client: TestClient) -> None:
    body = assert_problem(client.get("/api/v1/sweeps", headers={"Authorization": ""}), 401)
    assert "Bearer" in body["detail"]
    assert_problem(client.get("/api/v1/sweeps", headers=_as("sqz_nope")), 401)


def test_scopes_are_enforced(client: TestClient) -> None:
    reader, worker = _token(client, "read"), _token(client, "worker")
    assert client.get("/api/v1/sweeps", headers=_as(reader)).status_code == 200
    assert_problem(client.post("/api/v1/sweeps", json=small_spec(), headers=_as(reader)), 403)
    assert_problem(client.post("/api/v1/sweeps", json=small_spec(), headers=_as(worker)), 403)
    assert_problem(client.get("/api/v1/tokens", headers=_as(reader)), 403)
    writer = _token(client, "write")
    created = client.post("/api/v1/sweeps", json=small_spec(), headers=_as(writer))
    assert created.status_code == 201
    base = created.json()["baseline_run_ids"][0]
    assert_problem(client.post(f"/api/v1/runs/{base}/claim", json={"worker_id": "w"},
                               headers=_as(writer)), 403)
    claimed = client.post(f"/api/v1/runs/{base}/claim", json={"worker_id": "w"},
                          headers=_as(worker))
    assert claimed.status_code == 200


def test_tokens_are_hashed_listed_and_revoked(app: FastAPI, client: TestClient) -> None:
    token = _token(client, "read")
    with app.state.db.session() as session:
        stored = session.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored and all(len(h) == 64 for h in stored)
    items = client.get("/api/v1/tokens").json()["items"]
    assert all("token" not in t for t in items)
    # Listed by a prefix of its hash: no character of the secret is shown.
    (mine,) = [t for t in items if hash_token(token).startswith(t["prefix"])]
    assert mine["scopes"] == ["read"] and token[:8] not in str(items)
    assert client.delete(f"/api/v1/tokens/{mine['id']}").status_code == 204
    assert_problem(client.get("/api/v1/sweeps", headers=_as(token)), 401)
    assert_problem(client.delete("/api/v1/tokens/999999"), 404)


def test_auth_off_is_for_local_use(app: FastAPI, client: TestClient) -> None:
    from api.app import create_app

    settings = app.state.settings.model_copy(update={"auth": "off"})
    with TestClient(create_app(settings)) as anonymous:
        assert anonymous.get("/api/v1/tokens").status_code == 200


def test_bootstrap_command_prints_a_working_admin_token(
        app: FastAPI, client: TestClient, database_url: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from api.__main__ import main
    from api.settings import get_settings

    monkeypatch.setenv("SQUEEZELAB_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        assert main(["bootstrap-token", "--name", "ops"]) == 0
    finally:
        get_settings.cache_clear()
    token = capsys.readouterr().out.strip()
    assert client.get("/api/v1/tokens", headers=_as(token)).status_code == 200


def test_auth_is_checked_before_the_body_is_parsed(client: TestClient) -> None:
    assert_problem(client.post("/api/v1/sweeps", content="not: [valid",
                               headers={"Authorization": "", "content-type": "application/yaml"}),
                   401)
