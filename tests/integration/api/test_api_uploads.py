"""Uploads (pretrained weights): content-addressed, size-limited, downloadable; a spec that
names a missing upload is refused at submission with the field's pointer."""

from __future__ import annotations

import hashlib

import pytest
from apihelpers import assert_problem, small_spec, submit
from fastapi.testclient import TestClient

from api.settings import Settings

pytestmark = pytest.mark.integration


def test_upload_is_stored_once_by_its_sha256(client: TestClient, settings: Settings) -> None:
    data = b"\x00weights" * 1000
    sha = hashlib.sha256(data).hexdigest()
    first = client.post("/api/v1/uploads", params={"name": "model.safetensors"}, content=data)
    assert first.status_code == 201, first.text
    assert first.json()["ref"] == f"upload:{sha}" and first.json()["size"] == len(data)
    again = client.post("/api/v1/uploads", params={"name": "copy.bin"}, content=data)
    assert again.json()["ref"] == first.json()["ref"]
    assert again.json()["name"] == "model.safetensors"  # the first upload's name is kept
    stored = list((settings.artifact_dir / "uploads").glob("*"))
    assert [p.name for p in stored if p.is_file()] == [sha]
    got = client.get(f"/api/v1/uploads/{sha}")
    assert got.content == data and got.headers["x-checksum-sha256"] == sha
    listed = client.get("/api/v1/uploads").json()["items"]
    assert [u["sha256"] for u in listed] == [sha]


def test_bad_names_ids_and_sizes(client: TestClient, settings: Settings) -> None:
    assert_problem(client.post("/api/v1/uploads", params={"name": "../x"}, content=b"x"), 422)
    assert_problem(client.post("/api/v1/uploads", content=b""), 422)
    assert_problem(client.get("/api/v1/uploads/" + "0" * 64), 404)
    assert_problem(client.get("/api/v1/uploads/not-a-sha"), 422)
    assert_problem(client.post("/api/v1/uploads",
                               content=b"x" * (settings.max_artifact_bytes + 1)), 413)
    assert client.get("/api/v1/uploads").json()["items"] == []


def test_a_spec_naming_a_missing_upload_is_refused(client: TestClient) -> None:
    missing = "ab" * 32
    spec = {**small_spec(), "baseline": {"weights": f"upload:{missing}"}}
    for params in ({}, {"dry_run": "true"}):
        body = assert_problem(client.post("/api/v1/sweeps", json=spec, params=params), 422)
        assert [e["pointer"] for e in body["errors"]] == ["/baseline/weights"]
    ref = client.post("/api/v1/uploads", content=b"w").json()["ref"]
    created = submit(client, {**small_spec(), "baseline": {"weights": ref}})
    baseline = client.get(f"/api/v1/runs/{created['baseline_run_ids'][0]}").json()
    assert baseline["config"]["baseline"] == {**baseline["config"]["baseline"],
                                              "weights": ref, "epochs": 0}
