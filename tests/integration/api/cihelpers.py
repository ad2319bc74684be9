"""Helpers of the CI tests (triggers, webhooks, statuses); imported by name from this folder."""

from __future__ import annotations

import time
from typing import Any

from apihelpers import small_spec
from fastapi.testclient import TestClient
from ghfixtures import REPO, github_headers, payload

from api.services.signatures import generic_signature

SECRET = "It's a Secret to Everybody"
PR_SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"  # pull_request/opened: head.sha


def template(**gates: Any) -> dict[str, Any]:
    """A small sweep (1 seed: 1 baseline, 2 compress runs) named after the commit."""
    return {**small_spec(name="ci-${sha}", seeds=[0]), "gates": gates}


def make_trigger(client: TestClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "ci", "provider": "github", "repository": REPO,
            "events": ["push", "pull_request"], "template": template(), "secret": SECRET,
            **fields}
    response = client.post("/api/v1/triggers", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def deliver(hooks: TestClient, event: str, body: bytes, *, secret: str = SECRET,
            delivery: str | None = None, **headers: str) -> Any:
    """POST a GitHub delivery signed with ``secret``."""
    sent = {**github_headers(body, secret, event, delivery), **headers}
    return hooks.post("/api/v1/webhooks/github", content=body, headers=sent)


def deliver_pr(hooks: TestClient, **kwargs: Any) -> Any:
    return deliver(hooks, "pull_request", payload("pull_request/opened.payload.json"), **kwargs)


def generic_headers(body: bytes, secret: str = SECRET,
                    at: float | None = None) -> dict[str, str]:
    stamp = str(int(time.time() if at is None else at))
    return {"Content-Type": "application/json", "X-Squeezelab-Timestamp": stamp,
            "X-Squeezelab-Signature": generic_signature(secret, stamp, body)}


def finish_sweep(client: TestClient, sweep_id: int, summary: dict[str, Any]) -> None:
    """Claim and complete every run of the sweep (baselines first) with ``summary``."""
    runs = client.get("/api/v1/runs", params={"sweep_id": sweep_id}).json()["items"]
    for run in sorted(runs, key=lambda r: (r["kind"] != "baseline", r["id"])):
        claimed = client.post(f"/api/v1/runs/{run['id']}/claim", json={"worker_id": "w"})
        assert claimed.status_code == 200, claimed.text
        done = client.post(f"/api/v1/runs/{run['id']}/complete",
                           json={"worker_id": "w", "summary": summary})
        assert done.status_code == 200, done.text


def compressed(drop: float, speedup: float) -> dict[str, Any]:
    return {"accuracy": 0.97 - drop, "baseline_accuracy": 0.97, "accuracy_drop": drop,
            "speedup": {"torch": {"64": speedup}},
            "size_bytes": {"dense_fp32": 1000, "stored": 400}}
