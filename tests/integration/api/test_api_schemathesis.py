"""Property-based tests from the OpenAPI schema (Schemathesis), with a bounded number of
examples: no 5xx, responses match the schema, and every error body is problem+json."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from apihelpers import ADMIN_TOKEN, migrate, small_spec
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from pydantic import SecretStr

from api.app import create_app
from api.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# The app is built at import (Schemathesis needs its schema to collect tests); its database
# is created and migrated by the fixture below, before any request.
_TMP = Path(tempfile.mkdtemp(prefix="squeezelab-fuzz-"))
_URL = f"sqlite:///{_TMP / 'fuzz.db'}"
APP = create_app(Settings(database_url=_URL, admin_token=SecretStr(ADMIN_TOKEN),
                          artifact_dir=_TMP / "artifacts", max_artifact_bytes=1024))
# The SSE stream is endless unless asked otherwise; test_api_events.py covers it.
schema = schemathesis.openapi.from_dict(APP.openapi()).exclude(path="/api/v1/events")
schema.app = APP  # calls go to the ASGI app in-process


@schemathesis.check
def problem_json_errors(ctx: schemathesis.CheckContext, response: schemathesis.Response,
                        case: schemathesis.Case) -> bool | None:
    """Every 4xx/5xx is application/problem+json (RFC 9457) with a request id."""
    if response.status_code >= 400:
        ctype = response.headers.get("content-type", [""])[0]
        assert ctype.startswith("application/problem+json"), f"{response.status_code} {ctype}"
        body = response.json()
        assert body["status"] == response.status_code and body["title"] and body["request_id"]
    return None


@pytest.fixture(scope="module", autouse=True)
def _database() -> Iterator[None]:
    migrate(_URL)
    with TestClient(APP, headers=HEADERS) as client:  # startup stores the admin token
        client.post("/api/v1/sweeps", json=small_spec("fuzz"))
    yield
    APP.state.db.dispose()
    shutil.rmtree(_TMP, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_openapi_contract(case: schemathesis.Case) -> None:
    excluded = [schemathesis.checks.positive_data_acceptance]
    if case.operation.label == "POST /api/v1/sweeps":
        # compression.spec accepts numeric strings on purpose (PyYAML reads ``lr: 1e-3`` as
        # the string "1e-3"), which JSON Schema calls invalid; the spec's own tests own that.
        excluded.append(schemathesis.checks.negative_data_rejection)
    # A sweep spec has rules JSON Schema cannot state (seeds distinct, n < m, ...), and the
    # YAML body is documented as a string: schema-valid bodies may rightly get a 422.
    case.call_and_validate(headers=HEADERS, excluded_checks=excluded)
