"""Helpers of the security tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from fresh_loop import run_in_fresh_loop
from ghfixtures import github_headers
from httpx import ASGITransport, AsyncClient, Response

from api.app import create_app
from api.models import Base
from api.services.signatures import generic_signature
from api.settings import Settings

ADMIN_TOKEN = "sqz_security-admin-token"
SECRET = "a-webhook-secret-for-the-security-tests"
GENERIC_REPO = "octo-org/vision-models"
SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"


@contextmanager
def serving(settings: Settings) -> Iterator[FastAPI]:
    """An app on ``settings``; its tables are emptied when it is done."""
    app = create_app(settings)
    try:
        yield app
    finally:
        with app.state.db.engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
        app.state.db.engine.dispose()


def problem(response: Any, status: int) -> dict[str, Any]:
    """The response is problem+json (RFC 9457) with ``status``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"].startswith("https://")
    return body


def pointers(response: Any) -> set[str]:
    """The JSON pointers of a 422's errors."""
    return {e["pointer"] for e in problem(response, 422).get("errors", [])}


def spec(**overrides: Any) -> dict[str, Any]:
    """A valid sweep of 2 seeds × (1 baseline + 2 AGP sparsities) = 6 runs."""
    return {"name": "small", "task": "digits-mlp", "seeds": [0, 1],
            "baseline": {"epochs": 2},
            "recipes": [{"name": "agp", "prune": {"granularity": "unstructured"},
                         "schedule": {"kind": "agp", "final_sparsity": [0.5, 0.9],
                                      "end_epoch": 2},
                         "finetune": {"epochs": 3}}], **overrides}


def grid_spec(sparsities: int, lrs: int, seeds: int) -> dict[str, Any]:
    """seeds × (1 + sparsities × lrs) runs: one AGP recipe with two grid axes."""
    return spec(name="grid", seeds=list(range(seeds)), recipes=[{
        "name": "agp", "prune": {"granularity": "unstructured"},
        "schedule": {"kind": "agp", "end_epoch": 2,
                     "final_sparsity": [round(0.01 + 0.9 * i / sparsities, 6)
                                        for i in range(sparsities)]},
        "finetune": {"epochs": 3,
                     "optimizer": {"lr": [1e-4 * (i + 1) for i in range(lrs)]}}}])


def nested_json(depth: int) -> str:
    """A spec whose task is a list nested ``depth`` deep, as JSON text."""
    return '{"name": "deep", "task": ' + "[" * depth + "]" * depth + "}"


def make_trigger(client: TestClient, provider: str, repository: str) -> None:
    """A trigger on pushes to any branch, whose template names the sweep after the sha."""
    body = {"name": f"{provider} pushes", "provider": provider, "repository": repository,
            "events": ["push"], "secret": SECRET,
            "template": spec(name="ci-${sha}", seeds=[0])}
    response = client.post("/api/v1/triggers", json=body)
    assert response.status_code == 201, response.text


def deliver_github(hooks: TestClient, event: str, body: bytes) -> Any:
    """A GitHub delivery signed as GitHub signs it."""
    return hooks.post("/api/v1/webhooks/github", content=body,
                      headers=github_headers(body, SECRET, event))


def deliver_generic(hooks: TestClient, payload: dict[str, Any]) -> Any:
    """A generic delivery signed now."""
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    return hooks.post("/api/v1/webhooks/generic", content=body, headers={
        "Content-Type": "application/json", "X-Squeezelab-Timestamp": stamp,
        "X-Squeezelab-Signature": generic_signature(SECRET, stamp, body)})


def deliver_generic_at(app: FastAPI, payload: dict[str, Any], stamp: bytes) -> Response:
    """A generic delivery whose timestamp header is ``stamp``'s bytes as they are (an HTTP
    server reads header bytes as Latin-1; TestClient would re-encode them as UTF-8)."""
    body = json.dumps(payload).encode()
    signature = generic_signature(SECRET, stamp.decode("latin-1"), body)

    async def post() -> Response:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://api") as c:
            return await c.post("/api/v1/webhooks/generic", content=body, headers={
                b"content-type": b"application/json", b"x-squeezelab-timestamp": stamp,
                b"x-squeezelab-signature": signature.encode()})

    return run_in_fresh_loop(post())


def sweeps(client: TestClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/api/v1/sweeps").json()["items"]
    return items

