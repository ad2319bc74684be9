"""Issue 14, item 4: a grid is counted before it is expanded; a sweep over the limit is a
422 naming its axes and their product; a dry run pages its runs."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from securityhelpers import (
    ADMIN_TOKEN,
    grid_spec,
    make_trigger,
    pointers,
    problem,
    serving,
    spec,
    sweeps,
)

from api.settings import Settings
from compression.spec import checks, runs

pytestmark = pytest.mark.integration


@pytest.fixture
def no_expansion(monkeypatch: pytest.MonkeyPatch) -> None:
    """Expanding any recipe's grid fails the request: what is refused is only counted."""
    def refuse(*_: Any) -> Any:
        raise AssertionError("a grid over the limit was expanded")
    monkeypatch.setattr(checks, "expand_recipe", refuse)
    monkeypatch.setattr(runs, "expand_recipe", refuse)


@pytest.mark.parametrize("dry_run", ["true", "false"])
def test_a_sweep_over_the_limit_is_refused_naming_its_axes_and_product(
        client: TestClient, no_expansion: None, dry_run: str) -> None:
    # 100 seeds × (1 + 1,000 × 1,000): 100,000,100 runs, which the API never expands.
    response = client.post("/api/v1/sweeps", params={"dry_run": dry_run},
                           json=grid_spec(1000, 1000, 100))
    body = problem(response, 422)
    assert body["type"].endswith("/sweep-too-large")
    assert "100,000,100 runs" in body["detail"] and "10,000" in body["detail"]
    assert {"pointer": "/recipes/0", "detail": "agp: schedule.final_sparsity (1000) × "
            "finetune.optimizer.lr (1000) × seeds (100) = 100,000,000 runs"} in body["errors"]
    assert sweeps(client) == []


def test_the_limit_is_the_api_setting(settings: Settings) -> None:
    # 2 seeds × (1 + 5 × 6) = 62 runs; 2 × (1 + 5 × 4) = 42.
    limited = settings.model_copy(update={"max_runs": 50})
    with serving(limited) as app, TestClient(app, raise_server_exceptions=False, headers={
            "Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
        over = client.post("/api/v1/sweeps", json=grid_spec(5, 6, 2))
        assert "62 runs; the limit is 50" in problem(over, 422)["detail"]
        assert client.post("/api/v1/sweeps", json=grid_spec(5, 4, 2)).status_code == 201


def test_a_trigger_template_over_the_limit_is_refused_when_stored(client: TestClient) -> None:
    body = {"name": "big", "provider": "github", "repository": "o/r",
            "template": {**grid_spec(200, 100, 1), "name": "ci-${sha}"}}
    response = client.post("/api/v1/triggers", json=body)
    assert "/template/recipes/0" in pointers(response)
    make_trigger(client, "github", "o/r")  # a template within the limit is stored


def _offset(cursor: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


def test_a_dry_run_pages_its_runs(client: TestClient) -> None:
    # 3 seeds × (1 + 30 × 30) = 2,703 runs: pages of 1,000, 1,000 and 703.
    big = grid_spec(30, 30, 3)
    pages, cursor = [], None
    while True:
        response = client.post("/api/v1/sweeps", json=big,
                               params={"dry_run": "true", **({"cursor": cursor} if cursor
                                                              else {})})
        assert response.status_code == 200, response.text
        plan = response.json()
        assert (plan["run_count"], plan["baseline_count"]) == (2703, 3)
        pages.append([r["name"] for r in plan["runs"]])
        cursor = plan["next_cursor"]
        if cursor is None:
            break
        assert _offset(cursor) == {"offset": 1000 * len(pages)}
    assert [len(p) for p in pages] == [1000, 1000, 703]
    names = [name for page in pages for name in page]
    assert len(set(names)) == 2703
    assert names[:3] == ["baseline@seed0", "baseline@seed1", "baseline@seed2"]
    assert names[-1] == "agp[final_sparsity=0.88,lr=0.003]@seed2"
    smaller = client.post("/api/v1/sweeps", params={"dry_run": "true", "limit": 2},
                          json=spec()).json()
    assert [r["name"] for r in smaller["runs"]] == ["baseline@seed0", "baseline@seed1"]
    assert smaller["run_count"] == 6 and smaller["next_cursor"] is not None
    assert sweeps(client) == []
