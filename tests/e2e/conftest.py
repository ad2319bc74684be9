"""Browser tests: real headless Chromium (Playwright, /usr/bin/chromium) against a real API
seeded with a real sweep (``squeezelab local examples/quick.yaml``, replayed over HTTP).

Needs the built dashboard (``npm --prefix frontend ci && npm --prefix frontend run build``)
and Chromium (``apt-get install chromium``); skipped with the reason when either is missing.
Set SQUEEZELAB_E2E_RESULTS to an existing results.json to skip the 10-40 s training run.
Screenshots go to build/screenshots (ignored by git), so a test run leaves the tree as it
found it; SQUEEZELAB_SCREENSHOTS names another folder (`make screenshots` refreshes the
ones in docs/screenshots that the README shows).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard_seed import load_results, read_results
from dashboard_server import CHROMIUM, DIST, ROOT, live_api
from liveapi import LiveApi

SPEC = ROOT / "examples" / "quick.yaml"
SCREENSHOTS = ROOT / "build" / "screenshots"

playwright_api = pytest.importorskip("playwright.sync_api")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    if not (DIST / "index.html").is_file():
        pytest.skip(f"the dashboard is not built ({DIST}): npm --prefix frontend run build")
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def results(workdir: Path) -> dict[str, Any]:
    """Real results of examples/quick.yaml (real training, in-process)."""
    cached = os.environ.get("SQUEEZELAB_E2E_RESULTS")
    if cached:
        return read_results(Path(cached))
    out = workdir / "results.json"
    cli = Path(sys.executable).with_name("squeezelab")
    subprocess.run([str(cli), "local", str(SPEC), "--out", str(out),
                    "--workdir", str(workdir / "local")], check=True, cwd=workdir,
                   capture_output=True, timeout=600)
    return read_results(out)


@pytest.fixture(scope="session")
def server(workdir: Path) -> Iterator[LiveApi]:
    with live_api(workdir / "api") as running:
        yield running


@pytest.fixture(scope="session")
def api_url(server: LiveApi) -> str:
    return server.url


@pytest.fixture(scope="session")
def api(api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def seeded(api: httpx.Client, results: dict[str, Any]) -> dict[str, Any]:
    """The quick sweep stored through the API, each run completed with its real summary."""
    return load_results(api, SPEC.read_text(), results)


@pytest.fixture(scope="session")
def browser(api_url: str) -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, api_url: str) -> Iterator[Any]:
    """A fresh 1280x900 page; any uncaught error in the page fails the test."""
    context = browser.new_context(base_url=api_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"errors in the page: {errors}"


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where the tests save their screenshots (a relative SQUEEZELAB_SCREENSHOTS is taken
    from the repository root)."""
    folder = ROOT / os.environ.get("SQUEEZELAB_SCREENSHOTS", SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
