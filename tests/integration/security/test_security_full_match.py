"""Issue 14, item 7: names and ids are matched whole. Python's ``re`` lets ``$`` match
before a trailing newline, so ``re.match(r"^[a-z]+$", "ok\\n")`` succeeds; pydantic's
``pattern`` runs on the Rust regex engine, where ``$`` is the very end (pinned below)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import pytest
from fastapi.testclient import TestClient
from ghfixtures import REPO, branch_push
from pydantic import Field, TypeAdapter, ValidationError
from securityhelpers import (
    GENERIC_REPO,
    SHA,
    deliver_generic,
    deliver_github,
    make_trigger,
    pointers,
    problem,
    spec,
    sweeps,
)

from api.settings import Settings

pytestmark = pytest.mark.integration


def test_pydantic_patterns_do_not_match_before_a_trailing_newline() -> None:
    assert re.match(r"^[0-9a-f]{7,64}$", "abcdef1\n")  # why Python's re needs fullmatch
    sha = TypeAdapter(Annotated[str, Field(pattern=r"^[0-9a-f]{7,64}$")])
    assert sha.validate_python("abcdef1") == "abcdef1"
    with pytest.raises(ValidationError):
        sha.validate_python("abcdef1\n")


def test_an_artifact_name_with_a_trailing_newline_is_refused(client: TestClient,
                                                             settings: Settings) -> None:
    run_id = client.post("/api/v1/sweeps", json=spec()).json()["run_ids"][0]
    response = client.put(f"/api/v1/runs/{run_id}/artifacts/ok.bin%0A", content=b"x")
    assert pointers(response) == {"path:/name"}
    assert client.get(f"/api/v1/runs/{run_id}/artifacts").json()["items"] == []
    assert not any(Path(settings.artifact_dir).rglob("*"))


def test_a_signed_push_sha_with_a_trailing_newline_starts_nothing(
        client: TestClient, hooks: TestClient) -> None:
    make_trigger(client, "github", REPO)
    response = deliver_github(hooks, "push", branch_push("abcdef1\n"))
    assert response.status_code == 202, response.text
    assert response.json()["reason"] == "the delivery names no commit"
    assert sweeps(client) == []
    (delivery,) = client.get("/api/v1/webhooks/deliveries").json()["items"]
    assert delivery["sha"] is None


# Pins: these patterns are pydantic's, whose Rust engine never matched the newline.
def test_a_signed_generic_sha_with_a_trailing_newline_is_a_422(
        client: TestClient, hooks: TestClient) -> None:
    make_trigger(client, "generic", GENERIC_REPO)
    response = deliver_generic(hooks, {"delivery_id": "d-1", "event": "push",
                                       "repository": GENERIC_REPO, "sha": SHA[:7] + "\n"})
    assert pointers(response) == {"/sha"}
    assert sweeps(client) == []


def test_query_patterns_do_not_match_before_a_trailing_newline(client: TestClient) -> None:
    response = client.post("/api/v1/sweeps", json=spec(),
                           params={"source": "ci", "repo": "o/r\n", "sha": "abcdef1\n"})
    assert pointers(response) == {"query:/repo", "query:/sha"}


@pytest.mark.parametrize(("path", "params"), [
    ("/api/v1/runs", {"sort": "summary.accuracy\n"}),
    ("/api/v1/sweeps/{sweep}/pareto", {"x": "summary.sparsity\n"}),
])
def test_a_summary_path_with_a_trailing_newline_is_a_422(
        client: TestClient, path: str, params: dict[str, str]) -> None:
    sweep = client.post("/api/v1/sweeps", json=spec()).json()["id"]
    response = client.get(path.format(sweep=sweep), params=params)
    problem(response, 422)
