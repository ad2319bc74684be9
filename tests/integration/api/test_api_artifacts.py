"""Artifacts (streamed, size-limited, hashed, confined to their directory) and workers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from apihelpers import assert_problem, claim, running, submit
from fastapi.testclient import TestClient

from api.settings import Settings

pytestmark = pytest.mark.integration


def test_upload_list_download_and_replace(client: TestClient, settings: Settings) -> None:
    (run_id,) = running(client)
    data = bytes(range(256)) * 40
    url = f"/api/v1/runs/{run_id}/artifacts/model.safetensors"
    created = client.put(url, content=data)
    assert created.status_code == 201, created.text
    assert created.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert created.json()["size"] == len(data)
    assert (settings.artifact_dir / str(run_id) / "model.safetensors").read_bytes() == data
    got = client.get(url)
    assert got.content == data and got.headers["x-checksum-sha256"] == created.json()["sha256"]
    client.put(url, content=b"v2")
    items = client.get(f"/api/v1/runs/{run_id}/artifacts").json()["items"]
    assert [(a["name"], a["size"]) for a in items] == [("model.safetensors", 2)]


@pytest.mark.parametrize("name", ["..", ".hidden", "a%2F..%2F..%2Fescape", "x y", "a\\b"])
def test_names_cannot_escape(client: TestClient, settings: Settings, name: str) -> None:
    run_id = submit(client)["run_ids"][0]
    response = client.put(f"/api/v1/runs/{run_id}/artifacts/{name}", content=b"x")
    assert response.status_code in (404, 405, 422)  # ".." is resolved by the URL itself
    assert response.headers["content-type"].startswith("application/problem+json")
    root = Path(settings.artifact_dir)
    escaped = [p for p in root.parent.rglob("*") if p.is_file() and root not in p.parents]
    assert escaped == []


def test_upload_over_the_limit_is_413_and_leaves_nothing(client: TestClient,
                                                          settings: Settings) -> None:
    (run_id,) = running(client)

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b"x" * 1024

    url = f"/api/v1/runs/{run_id}/artifacts/big.bin"
    assert_problem(client.put(url, content=chunks()), 413)
    assert_problem(client.put(url, content=b"x" * (settings.max_artifact_bytes + 1)), 413)
    assert client.get(f"/api/v1/runs/{run_id}/artifacts").json()["items"] == []
    assert list((settings.artifact_dir / str(run_id)).glob("*")) == []


def test_delete_sweep_removes_artifact_files(client: TestClient, settings: Settings) -> None:
    created = submit(client)
    run_id = created["run_ids"][0]
    assert claim(client, run_id).status_code == 200
    assert client.put(f"/api/v1/runs/{run_id}/artifacts/log.txt",
                      content=b"hello").status_code == 201
    client.delete(f"/api/v1/sweeps/{created['id']}")
    assert not (settings.artifact_dir / str(run_id)).exists()
    assert_problem(client.get(f"/api/v1/runs/{run_id}/artifacts/log.txt"), 404)


def test_workers_register_heartbeat_and_list(client: TestClient) -> None:
    body = {"id": "cpu-1:42", "hostname": "box", "queues": ["cpu"], "tasks": ["digits-mlp"],
            "hardware": {"cpu": "x86", "threads": 2}}
    assert client.post("/api/v1/workers", json=body).json()["alive"] is True
    run_id = submit(client)["run_ids"][0]
    beat = client.post("/api/v1/workers/cpu-1:42/heartbeat", json={"current_run_id": run_id})
    assert beat.json()["current_run_id"] == run_id
    client.post("/api/v1/workers", json={**body, "queues": ["cpu", "gpu"]})
    items = client.get("/api/v1/workers").json()["items"]
    assert [(w["id"], w["queues"]) for w in items] == [("cpu-1:42", ["cpu", "gpu"])]
    assert_problem(client.post("/api/v1/workers/ghost/heartbeat", json={}), 404)
