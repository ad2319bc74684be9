"""Issue 14, item 9: the OpenAPI document says what the API enforces.

Schemathesis runs every check it has (no 5xx; status codes, content types, headers and bodies
as documented; schema-valid input accepted and schema-invalid input refused; auth not
ignored; ...) on every operation, through its examples, coverage and fuzzing phases, then
chains calls along the document's links in its stateful phase. The API runs as
``squeezelab api`` on a fresh PostgreSQL database with auth on; requests carry an admin token.

A few rules span several values, where JSON Schema cannot state them; the document says them
in prose, and ``_outside_json_schema`` holds back the schema-valid requests they refuse:
a step window whose step_min is above its step_max, a GitLab delivery with neither id header,
and a body that breaks a rule its own model checks in code (distinct seeds, n < m, a sweep
over the size limit, an interval whose lo is above its hi: a pydantic ``value_error``). Such
bodies must still be refused, which the negative cases check. Cursors are opaque, so values
of their format are cursors as the API makes them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from liveapi import free_port
from pydantic import TypeAdapter, ValidationError
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from securityhelpers import ADMIN_TOKEN
from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session
from stack import api_process, wait_ready

from api.app import create_app
from api.errors import InvalidInputError
from api.models import ApiToken, Base
from api.schemas.common import CURSOR_FORMAT
from api.schemas.runs import RunComplete, RunFail
from api.services.pagination import decode_cursor, encode_cursor
from api.services.tokens import create_token
from api.services.triggers import SAMPLE
from api.settings import Settings
from compression.spec import SweepSpec
from compression.spec.limits import run_count
from compression.spec.template import render

pytestmark = [pytest.mark.integration, pytest.mark.slow]
HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ADMIN_ID = 987_654_321
# Bounded so that the module takes about two minutes on two cores: every operation gets its
# examples, its coverage cases and this many fuzzed cases; the stateful phase this many
# scenarios of up to STEPS calls.
EXAMPLES = 15
SCENARIOS = 100
STEPS = 8
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
CONFIG = SchemathesisConfig.from_dict({
    "headers": HEADERS, "request-timeout": 30, "output": {"truncation": {"enabled": False}},
    # The API refuses a NUL in any string (PostgreSQL cannot store one), as the document's
    # description says: no generated string holds one.
    "generation": {"allow-x00": False, "database": "none"},
    "phases": {"stateful": {"max-steps": STEPS}},
    # Its body is POST's with every field optional, whose coverage cases already walk the
    # whole sweep spec of the template (some 1,500 requests); it keeps every other phase.
    "operations": [{"include-name": "PATCH /api/v1/triggers/{trigger_id}",
                    "phases": {"coverage": {"enabled": False}}}],
})
# A sweep of more runs is refused (422, sweep-too-large); a small limit keeps the sweeps the
# run creates small.
MAX_RUNS = 50
SERIES = ("GET /api/v1/series", "GET /api/v1/runs/{run_id}/series")
GITLAB = "POST /api/v1/webhooks/gitlab"
SWEEP_BODIES = ("POST /api/v1/sweeps",)
TEMPLATE_BODIES = ("POST /api/v1/triggers", "PATCH /api/v1/triggers/{trigger_id}")
MODEL_BODIES: dict[str, TypeAdapter[Any]] = {
    "POST /api/v1/runs/{run_id}/complete": TypeAdapter(RunComplete),
    "POST /api/v1/runs/{run_id}/fail": TypeAdapter(RunFail)}


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


@schemathesis.check
def admin_token_still_works(ctx: schemathesis.CheckContext, response: schemathesis.Response,
                            case: schemathesis.Case) -> bool | None:
    """A request that carried the admin token is never a 401: were the token revoked, every
    later request would be a 401, which the acceptance checks take for a fine answer."""
    sent = response.request.headers.get("Authorization")
    if sent == HEADERS["Authorization"] and response.status_code == 401:
        # A webhook's 401 is about its signature (type .../webhook-unauthorized).
        assert not response.json()["type"].endswith("/unauthorized"), "the admin token failed"
    return None


def _only_code_rules(validate: Callable[[], object]) -> bool:
    """Whether ``validate`` refuses its value for rules checked in code alone."""
    try:
        validate()
    except ValidationError as exc:
        return all(e["type"] == "value_error" for e in exc.errors())
    return False


def _names_an_upload(data: dict[str, Any]) -> bool:
    """Whether the spec's baseline names pretrained weights ``upload:<sha256>``: valid only
    once that file was uploaded, which depends on what is stored, not on the document."""
    baseline = data.get("baseline")
    weights = baseline.get("weights") if isinstance(baseline, dict) else None
    return isinstance(weights, str) and weights.startswith("upload:")


def _spec_outside_json_schema(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    if _names_an_upload(data):
        return True
    context = {"max_runs": MAX_RUNS}
    if _only_code_rules(lambda: SweepSpec.model_validate(data, context=context)):
        return True
    try:
        return run_count(SweepSpec.model_validate(data, context=context)) > MAX_RUNS
    except ValidationError:
        return False


def _made_by_the_api(cursor: object) -> bool:
    try:
        decode_cursor(str(cursor), "after", "before", "offset")
    except InvalidInputError:
        return False
    return True


def _integer(value: object) -> int | None:
    """A query value as sent: the coverage phase writes numbers as text."""
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def _outside_json_schema(_: schemathesis.HookContext, case: schemathesis.Case) -> bool:
    """False for a schema-valid request that a rule stated only in prose refuses."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return True
    label, query, headers = case.operation.label, case.query or {}, case.headers or {}
    body = case.body if isinstance(case.body, dict) else {}
    if "cursor" in query and not _made_by_the_api(query["cursor"]):
        return False
    if label in SERIES:
        low, high = _integer(query.get("step_min")), _integer(query.get("step_max"))
        return low is None or high is None or low <= high
    if label == GITLAB:
        names = {name.lower() for name in headers}
        return bool(names & {"idempotency-key", "x-gitlab-webhook-uuid"})
    if label in SWEEP_BODIES:
        return not _spec_outside_json_schema(case.body)
    if label in TEMPLATE_BODIES and isinstance(body.get("template"), dict):
        return not _spec_outside_json_schema(render(body["template"], SAMPLE.variables()))
    if label in MODEL_BODIES:
        return not _only_code_rules(lambda: MODEL_BODIES[label].validate_python(case.body))
    return True


def _cursors() -> st.SearchStrategy[str]:
    """Cursors as the API makes them, one position per kind of list (runs by id or by a
    sort, sweeps, a dry run's plan)."""
    positions = st.integers(min_value=0, max_value=2**31 - 1)
    return positions.map(lambda n: encode_cursor({"after": n, "before": n, "offset": n}))


def _empty_tables(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


def _store_admin_token(url: str) -> None:
    """The admin token, stored before the API starts, under an id far from any a run draws
    or a link carries: revoking the token every request uses would leave each later one a
    401, which the acceptance checks take for a fine answer."""
    engine = create_engine(url)
    with Session(engine) as session:
        token, _ = create_token(session, "bootstrap-admin", ["admin"], ADMIN_TOKEN)
        session.execute(update(ApiToken).where(ApiToken.id == token.id).values(id=ADMIN_ID))
        session.commit()
    engine.dispose()


@pytest.fixture(scope="module")
def live_server(security_database: str, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[str]:
    """``squeezelab api`` in a process of its own (it and the fuzzer each get a core)."""
    tmp: Path = tmp_path_factory.mktemp("conformance")
    port = free_port()
    env = {**os.environ, "SQUEEZELAB_DATABASE_URL": security_database, "SQUEEZELAB_AUTH": "on",
           "SQUEEZELAB_ADMIN_TOKEN": ADMIN_TOKEN,
           "SQUEEZELAB_ARTIFACT_DIR": str(tmp / "artifacts"),
           "SQUEEZELAB_MAX_BODY_BYTES": str(4 * 1024 * 1024),
           "SQUEEZELAB_MAX_RUNS": str(MAX_RUNS), "SQUEEZELAB_RECONCILE_INTERVAL_S": "0",
           "SQUEEZELAB_STATUS_POLL_INTERVAL_S": "0"}
    _store_admin_token(security_database)
    api = api_process(env, port, tmp / "api.log").start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(api, url)
        yield url
    finally:
        api.stop()
        _empty_tables(security_database)


# The document does not depend on the database: it is read from the app, before any server
# runs, so that pytest can collect a test per operation.
DOCUMENT = create_app(Settings(database_url="sqlite://")).openapi()
schemathesis.openapi.format(CURSOR_FORMAT, _cursors())
# The event stream never ends by itself; tests/integration/api/test_api_events.py has it.
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG).exclude(path="/api/v1/events")
schema.hooks.register_hook_with_name(_outside_json_schema, "filter_case")


@pytest.fixture(scope="module")
def base_url(live_server: str) -> str:
    return live_server


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    """One connection for every call, not one each."""
    with requests.Session() as reused:
        yield reused


@schema.parametrize()
@FUZZ
def test_each_operation_does_what_the_document_says(case: schemathesis.Case, base_url: str,
                                                    session: requests.Session) -> None:
    case.call_and_validate(base_url=base_url, session=session)


def test_chained_calls_do_what_the_document_says(base_url: str) -> None:
    # Collected, not raised: a raised failure makes Hypothesis replay the scenario, which
    # the server's changed state cannot repeat (FlakyStrategyDefinition hides the report).
    failures: list[FailureGroup] = []

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"base_url": base_url}

        def validate_response(self, response: schemathesis.Response, case: schemathesis.Case,
                              additional_checks: Any = None, **kwargs: Any) -> None:
            try:
                super().validate_response(response, case, additional_checks, **kwargs)
            except FailureGroup as exc:
                failures.append(exc)

    Machine.run(settings=settings(
        max_examples=SCENARIOS, stateful_step_count=STEPS, deadline=None, derandomize=True,
        database=None, suppress_health_check=list(HealthCheck)))
    assert not failures, "\n\n".join(str(f) for f in failures[:3])

