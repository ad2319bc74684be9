"""Workers report their squeezelab and torch versions; the API stores and lists them beside
its own, so a worker running other code than the API can be spotted."""

from __future__ import annotations

import pytest
from apihelpers import assert_problem
from fastapi.testclient import TestClient

from compression.spec.versions import squeezelab_version

pytestmark = pytest.mark.integration
WORKER = {"id": "cpu-1:7", "hostname": "box", "queues": ["cpu"], "tasks": ["digits-mlp"]}


def _listed(client: TestClient) -> dict[str, dict[str, object]]:
    body = client.get("/api/v1/workers").json()
    assert body["api_version"] == squeezelab_version()
    return {w["id"]: w for w in body["items"]}


def test_a_worker_reports_its_versions(client: TestClient) -> None:
    registered = client.post("/api/v1/workers", json={
        **WORKER, "version": "0.0.9", "torch_version": "2.12.0"}).json()
    assert (registered["version"], registered["torch_version"]) == ("0.0.9", "2.12.0")
    listed = _listed(client)["cpu-1:7"]
    assert (listed["version"], listed["torch_version"]) == ("0.0.9", "2.12.0")
    # A restarted worker on new code refreshes its registration, versions included.
    client.post("/api/v1/workers", json={**WORKER, "version": squeezelab_version(),
                                         "torch_version": "2.13.0"})
    assert _listed(client)["cpu-1:7"]["version"] == squeezelab_version()


def test_an_older_worker_without_versions_still_registers(client: TestClient) -> None:
    assert client.post("/api/v1/workers", json=WORKER).status_code == 200
    listed = _listed(client)["cpu-1:7"]
    assert listed["version"] is None and listed["torch_version"] is None


@pytest.mark.parametrize("version", ["", "x" * 65])
def test_a_bad_version_is_refused(client: TestClient, version: str) -> None:
    body = assert_problem(client.post("/api/v1/workers", json={**WORKER, "version": version}),
                          422)
    assert [e["pointer"] for e in body["errors"]] == ["/version"]
