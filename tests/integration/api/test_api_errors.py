"""Every error is problem+json with a request id; bodies have a size limit; 500s say nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from apihelpers import assert_problem
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from compression.spec.versions import squeezelab_version

pytestmark = pytest.mark.integration


def test_404_405_and_validation(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/nowhere"), 404)
    assert_problem(client.put("/api/v1/sweeps"), 405)
    body = assert_problem(client.get("/api/v1/runs", params={"limit": 0}), 422)
    assert body["errors"][0]["pointer"] == "query:/limit"


def test_a_405_lists_the_methods_the_path_takes(client: TestClient) -> None:
    """Routes live in included routers: the Allow header once came back empty."""
    for method, path, allowed in (("PUT", "/api/v1/sweeps", "GET, POST"),
                                  ("OPTIONS", "/api/v1/sweeps", "GET, POST"),
                                  ("DELETE", "/api/v1/runs/1", "GET"),
                                  ("OPTIONS", "/healthz", "GET, HEAD")):
        response = client.request(method, path)
        assert_problem(response, 405)
        assert response.headers["allow"] == allowed, (method, path)


def test_request_id_is_kept_when_sane(client: TestClient) -> None:
    response = client.get("/api/v1/runs/123456", headers={"X-Request-ID": "abc-123"})
    assert assert_problem(response, 404)["request_id"] == "abc-123"
    response = client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert response.headers["x-request-id"] != "bad id\nwith newline"


def test_body_over_the_limit_is_413(client: TestClient) -> None:
    big = b"{" + b" " * (5 * 1024 * 1024) + b"}"
    assert_problem(client.post("/api/v1/sweeps", content=big,
                               headers={"content-type": "application/json"}), 413)

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(6):
            yield b" " * (1024 * 1024)

    assert_problem(client.post("/api/v1/sweeps", content=chunks(),
                               headers={"content-type": "application/json"}), 413)


def test_unexpected_error_is_a_generic_500(app: FastAPI, client: TestClient) -> None:
    # Under /api: a route added after create_app would otherwise sit behind the
    # dashboard's catch-all, which declines only API paths.
    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    body = assert_problem(client.get("/api/v1/boom"), 500)
    assert "hunter2" not in str(body) and "RuntimeError" not in str(body)


def test_health_ready_and_metrics(client: TestClient) -> None:
    version = squeezelab_version()
    assert client.get("/healthz").json() == {"status": "ok", "version": version}
    assert client.get("/readyz").json() == {"status": "ready", "version": version}
    text = client.get("/metrics").text
    assert "squeezelab_http_requests_total" in text and 'method="GET"' in text


def test_database_down_is_503_problem(tmp_path: Path) -> None:
    # Nothing listens on port 1: every query fails to connect, as during a restart.
    settings = Settings(database_url="postgresql+psycopg://postgres@127.0.0.1:1/none",
                        auth="off", artifact_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert_problem(client.get("/readyz"), 503)
        body = assert_problem(client.get("/api/v1/sweeps"), 503)
        assert "127.0.0.1" not in body["detail"]
