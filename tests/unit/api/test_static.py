"""The dashboard mount: assets, SPA fallback, and the API's own 404/405s left untouched."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import api.static
from api.problems import install_problem_handlers
from api.static import dashboard_dir, mount_dashboard

pytestmark = pytest.mark.unit


def _app(dist: Path) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/api/v1/things")
    def things() -> dict[str, int]:
        return {"n": 1}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    mount_dashboard(app, dist)
    return app


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><div id=app></div>")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    (tmp_path.parent / "secret.txt").write_text("not for you")
    return tmp_path


def test_serves_index_assets_and_spa_fallback(dist: Path) -> None:
    client = TestClient(_app(dist))
    root = client.get("/")
    assert root.status_code == 200 and "id=app" in root.text
    assert root.headers["cache-control"] == "no-cache"
    asset = client.get("/assets/index-abc123.js")
    assert asset.text == "console.log(1)" and "immutable" in asset.headers["cache-control"]
    assert client.get("/favicon.svg").text == "<svg/>"
    for path in ("/sweeps/12", "/runs/3?x=1", "/compare?runs=1,2"):
        page = client.get(path)
        assert page.status_code == 200 and "id=app" in page.text, path
    assert client.head("/sweeps/1").status_code == 200


def test_api_and_other_routes_are_unchanged(dist: Path) -> None:
    client = TestClient(_app(dist))
    assert client.get("/api/v1/things").json() == {"n": 1}
    assert client.get("/healthz").json() == {"status": "ok"}
    for path in ("/api/v1/nope", "/api", "/api/"):
        missing = client.get(path)
        assert missing.status_code == 404, path
        assert missing.headers["content-type"].startswith("application/problem+json")
    wrong_method = client.post("/api/v1/things")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"].startswith("application/problem+json")
    assert client.post("/sweeps/1").status_code in (404, 405)


def test_missing_asset_is_404_and_paths_cannot_escape(dist: Path) -> None:
    client = TestClient(_app(dist))
    assert client.get("/assets/gone-123.js").status_code == 404
    escaped = client.get("/..%2Fsecret.txt")
    assert "not for you" not in escaped.text


def test_does_nothing_without_a_build(tmp_path: Path) -> None:
    app = _app(tmp_path)
    client = TestClient(app)
    assert client.get("/").status_code == 404
    assert client.get("/healthz").status_code == 200


def test_gzip_copies_are_served_to_clients_that_accept_gzip(dist: Path) -> None:
    body = "console.log('squeezelab');" * 200
    (dist / "assets" / "app-1.js").write_text(body)
    (dist / "assets" / "app-1.js.gz").write_bytes(gzip.compress(body.encode()))
    client = TestClient(_app(dist))
    for accept in ("gzip, deflate, br", "br;q=1.0, gzip;q=0.8", "*"):
        zipped = client.get("/assets/app-1.js", headers={"Accept-Encoding": accept})
        assert zipped.headers["content-encoding"] == "gzip", accept
        assert zipped.headers["content-type"].startswith(("text/javascript",
                                                          "application/javascript"))
        assert int(zipped.headers["content-length"]) < len(body) / 10
        assert zipped.text == body and zipped.headers["vary"] == "Accept-Encoding"
        assert "immutable" in zipped.headers["cache-control"]
    for accept in ("identity", "gzip;q=0", "br"):
        plain = client.get("/assets/app-1.js", headers={"Accept-Encoding": accept})
        assert "content-encoding" not in plain.headers, accept
        assert plain.text == body and plain.headers["vary"] == "Accept-Encoding"
    # no gzip copy: the file as it is, and no Vary
    asset = client.get("/assets/index-abc123.js", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in asset.headers and "vary" not in asset.headers


def test_the_checkout_build_wins_then_the_installed_copy(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site" / "api"
    package.mkdir(parents=True)
    monkeypatch.setattr(api.static.resources, "files", lambda name: package)
    assert dashboard_dir() is None
    (package / "dashboard").mkdir()
    (package / "dashboard" / "index.html").write_text("<!doctype html>")  # an installed wheel
    assert dashboard_dir() == package / "dashboard"
    checkout = tmp_path / "site" / "frontend" / "dist"  # a checkout, after `make dashboard`
    checkout.mkdir(parents=True)
    assert dashboard_dir() == package / "dashboard", "a dist without index.html is no build"
    (checkout / "index.html").write_text("<!doctype html>")
    assert dashboard_dir() == checkout
