"""CI end to end on the real stack (PostgreSQL, Redis, ``squeezelab api`` and ``squeezelab
worker`` processes): a signed GitHub push delivery creates a sweep tagged with the pushed
commit, a worker runs it, and the API posts a pending and then the gates' commit status to
a recording HTTP server standing in for api.github.com."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from ghfixtures import REPO, branch_push, github_headers, payload
from recorder import StatusRecorder
from stack import fresh_postgres, own_redis_db
from test_stack import FAST, Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SECRET = "It's a Secret to Everybody"
TOKEN = "ghp_e2e-status-token"
SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"  # the push fixture's "before" commit
PUBLIC = "https://squeezelab.example.com"
# A tiny sweep: digits-mlp, a 2-epoch baseline and one cheap recipe, with a gate.
TEMPLATE: dict[str, Any] = {
    "name": "ci-${sha}", "task": "digits-mlp", "seeds": [0], "measure": FAST,
    "baseline": {"epochs": 2, "batch_size": 256, "optimizer": {"lr": 3e-3}},
    "recipes": [{"name": "prune", "prune": {"granularity": "unstructured"},
                 "schedule": {"kind": "one_shot", "final_sparsity": 0.5},
                 "finetune": {"epochs": 1, "batch_size": 256}}],
    "gates": {"max_accuracy_drop": 0.05}}


def _deliver(url: str, event: str, body: bytes) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/webhooks/github", content=body,
                      headers=github_headers(body, SECRET, event), timeout=30)


def test_signed_push_runs_a_sweep_and_posts_pending_then_the_verdict(tmp_path: Path) -> None:
    with (StatusRecorder() as github, fresh_postgres() as database_url,
          own_redis_db() as broker_url):
        stack = Stack(tmp_path, database_url, broker_url, SQUEEZELAB_PUBLIC_URL=PUBLIC,
                      SQUEEZELAB_STATUS_POLL_INTERVAL_S="0.2")
        try:
            stack.start()
            stack.start_worker()
            stack.admin.create_trigger("e2e", "github", REPO, TEMPLATE, events=["push"],
                                       branches=["main"], secret=SECRET,
                                       statuses={"api_base": github.url, "token": TOKEN})
            # The fixture as GitHub sent it deletes a tag: accepted, recorded, nothing runs.
            ignored = _deliver(stack.url, "push", payload("push/payload.json"))
            assert ignored.status_code == 202, ignored.text
            assert stack.admin.list_sweeps().items == []

            delivered = _deliver(stack.url, "push", branch_push(SHA))
            assert delivered.status_code == 201, delivered.text
            (sweep_id,) = delivered.json()["sweep_ids"]
            sweep = stack.admin.get_sweep(sweep_id)
            assert (sweep.source, sweep.repo, sweep.sha, sweep.ref, sweep.name) == (
                "webhook", REPO, SHA, "refs/heads/main", f"ci-{SHA}")

            (pending,) = github.wait_for(1, timeout=60)
            runs = stack.wait_sweep(sweep_id, timeout=600)
            assert [r.status for r in runs] == ["succeeded", "succeeded"], runs
            pending, final = github.wait_for(2, timeout=60)
            ended = stack.admin.get_sweep(sweep_id)
            deliveries = stack.admin.list_deliveries()
            statuses = stack.admin.list_commit_statuses(sweep_id=sweep_id)
        finally:
            stack.stop()
    for request in (pending, final):
        assert request.path == f"/repos/{REPO}/statuses/{SHA}"
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.body["context"] == "squeezelab"
        assert request.body["target_url"] == f"{PUBLIC}/sweeps/{sweep_id}"
    assert pending.body["state"] == "pending"
    assert ended.status == "succeeded" and ended.gates is not None
    assert final.body["state"] == ("success" if ended.gates.passed else "failure")
    assert final.body["description"] == ended.gates.description
    assert len(final.body["description"]) <= 140
    assert [d.outcome for d in deliveries] == ["created", "ignored"]
    assert [(s.state, s.outcome) for s in statuses] == [(final.body["state"], "sent"),
                                                        ("pending", "sent")]
