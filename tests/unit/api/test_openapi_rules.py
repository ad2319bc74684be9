"""The OpenAPI document states the rules the API enforces (issue 14, item 9): each pattern
accepts what the code behind it accepts, booleans and integers are strict, every secured
operation says which token scope it needs, and every link names a real operation."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from api.app import create_app
from api.errors import InvalidInputError
from api.routes.runs import SORT_COLUMNS
from api.schemas.common import CURSOR_FORMAT, FILE_NAME_PATTERN
from api.schemas.runs import RunFail
from api.schemas.triggers import TriggerUpdate
from api.schemas.workers import WorkerHeartbeat
from api.services import run_queries, uploads
from api.services.artifacts import artifact_path
from api.services.pagination import encode_cursor
from api.services.summary_sql import SUMMARY_PATH
from api.settings import Settings

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(Settings(database_url="sqlite://")).openapi()


def _parameters(document: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    operation = document["paths"][path][method]
    return {p["name"]: p["schema"] for p in operation["parameters"]}


def _accepted(check: Callable[[str], object], name: str) -> bool:
    try:
        check(name)
    except InvalidInputError:
        return False
    return True


def test_the_file_name_pattern_matches_what_the_services_accept(tmp_path: Path) -> None:
    pattern = re.compile(FILE_NAME_PATTERN)
    for length in range(1, 6):
        for chars in itertools.product("a.-_", repeat=length):
            name = "".join(chars)
            declared = bool(pattern.search(name))
            assert declared == _accepted(uploads.check_name, name), name
            assert declared == _accepted(lambda n: artifact_path(tmp_path, 1, n), name), name


def test_sort_columns_are_the_ones_runs_sort_by() -> None:
    assert set(SORT_COLUMNS) == set(run_queries._COLUMNS)


def test_summary_paths_and_cursors_are_declared(document: dict[str, Any]) -> None:
    runs = _parameters(document, "/api/v1/runs")
    assert runs["cursor"]["format"] == CURSOR_FORMAT
    assert re.fullmatch(runs["cursor"]["pattern"].strip("^$"), encode_cursor({"after": 7}))
    sort = re.compile(runs["sort"]["pattern"])
    assert sort.search("-summary.latency_ms.torch.64") and sort.search("+-created_at")
    assert not sort.search("summary") and not sort.search("owner")
    pareto = _parameters(document, "/api/v1/sweeps/{sweep_id}/pareto")
    for name in ("x", "y"):
        assert pareto[name]["pattern"] == f"^{SUMMARY_PATH.pattern}$"


@pytest.mark.parametrize(("model", "body"), [
    (TriggerUpdate, {"enabled": 0}), (TriggerUpdate, {"enabled": "true"}),
    (RunFail, {"worker_id": "w", "error": {"type": "E", "message": "m"}, "retryable": 1}),
    (WorkerHeartbeat, {"current_run_id": True}), (WorkerHeartbeat, {"current_run_id": "4"}),
])
def test_request_bodies_are_strict(model: type[Any], body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(model).validate_python(body)


def test_a_trigger_template_is_documented_as_a_sweep_spec(document: dict[str, Any]) -> None:
    template = document["components"]["schemas"]["TriggerCreate"]["properties"]["template"]
    assert template["allOf"] == [{"$ref": "#/components/schemas/SweepSpec"}]


def test_spec_bounds_are_json_schema_keywords(document: dict[str, Any]) -> None:
    seeds = document["components"]["schemas"]["SweepSpec"]["properties"]["seeds"]["items"]
    assert seeds["minimum"] == 0 and seeds["maximum"] == 2**31 - 1 and "ge" not in seeds


def test_the_yaml_body_is_the_same_mapping(document: dict[str, Any]) -> None:
    content = document["paths"]["/api/v1/sweeps"]["post"]["requestBody"]["content"]
    assert content["application/yaml"]["schema"] == content["application/json"]["schema"]
    assert isinstance(content["application/yaml"]["example"], dict)


def test_secured_operations_name_their_scope(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            public = path in ("/healthz", "/readyz") or path.startswith("/api/v1/webhooks/g")
            if public:
                assert operation["security"] == [], (method, path)
            elif path.startswith("/api/"):
                (requirement,) = operation["security"]
                assert requirement["bearerToken"][0] in ("read", "write", "worker", "admin")
                assert {"401", "403"} <= set(operation["responses"]), (method, path)


def test_every_error_is_problem_json(document: dict[str, Any]) -> None:
    for operations in document["paths"].values():
        for operation in operations.values():
            for code, response in operation["responses"].items():
                if code[0] in "45":
                    assert list(response["content"]) == ["application/problem+json"]


def test_links_name_operations_and_parameters_that_exist(document: dict[str, Any]) -> None:
    operations = {op["operationId"]: op for ops in document["paths"].values()
                  for op in ops.values()}
    links = [link for ops in document["paths"].values() for op in ops.values()
             for response in op["responses"].values()
             for link in response.get("links", {}).values()]
    assert len(links) > 20
    for link in links:
        target = operations[link["operationId"]]
        names = {p["name"] for p in target.get("parameters", [])}
        assert {name.removeprefix("query.") for name in link["parameters"]} <= names
