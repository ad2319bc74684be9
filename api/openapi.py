"""The OpenAPI document: the sweep spec schemas, bearer-token security, problem+json for every
error, and links between operations. It says what the API enforces, and a schemathesis run
in the test suite holds the two together."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field, TypeAdapter

from api.deps import require
from api.openapi_links import add_links
from api.problems import PROBLEM
from api.schemas import artifacts, metrics, runs, sweeps, tokens, triggers, webhooks, workers
from api.schemas.metrics import METRIC_BATCH
from api.schemas.webhooks import GenericEvent, GitHubPayload, GitLabPayload
from api.spec_body import spec_component_schemas

RULES = (
    "No string in a request (a JSON body, a query or path parameter) may hold a NUL "
    "character (U+0000): PostgreSQL cannot store one, and such a request is a 422. "
    "Errors are application/problem+json (RFC 9457); a 422's `errors` has a JSON pointer "
    "per bad field.")
BEARER = "bearerToken"


class FieldProblem(BaseModel):
    pointer: str = Field(description="JSON pointer (RFC 6901); 'query:' etc. outside the body",
                         examples=["/recipes/0/schedule/final_sparsity"])
    detail: str


class Problem(BaseModel):
    """An error (RFC 9457 problem details) with the request id to quote."""

    type: str = Field(examples=["https://squeezelab.dev/problems/not-found"])
    title: str
    status: int
    detail: str
    instance: str
    request_id: str
    errors: list[FieldProblem] | None = None


_REF = {"$ref": "#/components/schemas/Problem"}
# The errors each kind of operation can answer, besides those a route declares itself.
_SECURED = {"401": "no token, or an unknown or revoked one",
            "403": "the token lacks the scope this operation needs"}
_WITH_PATH = {"404": "no such resource"}
_WITH_BODY = {"413": "the body is over the size limit"}
_WITH_INPUT = {"422": "invalid input: `errors` has a JSON pointer per bad field"}
_ALWAYS = {"503": "the database is unavailable, or the server is overloaded: retry after "
                  "Retry-After seconds"}
_HEADERS = {"401": {"WWW-Authenticate": "the scheme to authenticate with: Bearer"},
            "503": {"Retry-After": "seconds to wait before retrying"}}
# `api.deps.require(scope)` makes each scope's check from this one function body.
_REQUIRE_CODE = require("read").__code__


def _scope(dependant: Dependant) -> str | None:
    """The scope of the token an operation needs: the ``require(scope)`` it depends on."""
    stack = list(dependant.dependencies)
    while stack:
        dependant = stack.pop()
        call = dependant.call
        if call is not None and getattr(call, "__code__", None) is _REQUIRE_CODE:
            scope: str = inspect.getclosurevars(call).nonlocals["scope"]
            return scope
        stack.extend(dependant.dependencies)
    return None


def _error_responses(operation: dict[str, Any], secured: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    params = operation.get("parameters", [])
    errors = {**(_SECURED if secured else {}), **_ALWAYS}
    if any(p["in"] == "path" for p in params):
        errors.update(_WITH_PATH)
    if "requestBody" in operation:
        errors.update(_WITH_BODY)
    if params or "requestBody" in operation:
        errors.update(_WITH_INPUT)
    for code, description in errors.items():
        responses.setdefault(code, {"description": description})
    for code, response in responses.items():
        if code[0] in "45":
            response["content"] = {PROBLEM: {"schema": _REF}}
            headers = _HEADERS.get(code, {})
            if headers:
                response["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                                       for name, text in headers.items()}
    responses.setdefault("4XX", {"description": "client error",
                                 "content": {PROBLEM: {"schema": _REF}}})
    responses.setdefault("5XX", {"description": "server error",
                                 "content": {PROBLEM: {"schema": _REF}}})


def _never_null(operation: dict[str, Any]) -> None:
    """An optional parameter is left out, never null: drop the null branch FastAPI adds."""
    for param in operation.get("parameters", []):
        schema = param["schema"]
        branches = schema.get("anyOf", [])
        kept = [b for b in branches if b != {"type": "null"}]
        if len(branches) == 2 and len(kept) == 1:
            outer = {k: v for k, v in schema.items() if k != "anyOf"}
            if outer.get("default", 0) is None:
                del outer["default"]
            param["schema"] = {**kept[0], **outer}


_BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def _json_schema_bounds(node: Any) -> None:
    """Pydantic writes a bound placed after a validator (``Annotated[int, NoBool,
    Field(ge=0)]``, as compression.spec does) as ``ge``, which JSON Schema does not know:
    give such bounds their JSON Schema names, so the document states them."""
    if isinstance(node, dict):
        if node.get("type") in ("integer", "number"):
            for old, new in _BOUNDS.items():
                if old in node and new not in node:
                    node[new] = node.pop(old)
        for value in node.values():
            _json_schema_bounds(value)
    elif isinstance(node, list):
        for value in node:
            _json_schema_bounds(value)


def _restore_examples(components: dict[str, Any]) -> None:
    """FastAPI drops ``None`` from the whole document, which breaks examples with nullable
    required fields; put each model's own examples back as pydantic wrote them."""
    for module in (artifacts, metrics, runs, sweeps, tokens, triggers, webhooks, workers):
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, BaseModel)
                    and value.__name__ in components):
                extra = value.model_config.get("json_schema_extra")
                if isinstance(extra, dict) and "examples" in extra:
                    components[value.__name__]["examples"] = extra["examples"]


def _operations(app: FastAPI, schema: dict[str, Any]) -> list[tuple[Dependant, dict[str, Any]]]:
    """Each operation of the document with the dependencies of its route."""
    # Newer FastAPI nests included routers in the route list; this flattens them as
    # get_openapi does. Older versions list every APIRoute itself.
    flatten = getattr(routing, "iter_route_contexts", None)
    routes = list(flatten(app.routes)) if flatten is not None else list(app.routes)
    paths = schema.get("paths", {})
    found = []
    for route in routes:
        dependant = getattr(route, "dependant", None)
        operations = paths.get(getattr(route, "path_format", None), {})
        if isinstance(dependant, Dependant):
            found += [(dependant, operations[m.lower()]) for m in getattr(route, "methods", ())
                      if m.lower() in operations]
    return found


def install_openapi(app: FastAPI) -> None:
    """Build the schema once, with SweepSpec and Problem in components."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version,
                                 description=f"{app.description}\n\n{RULES}",
                                 routes=app.routes)
            components = schema.setdefault("components", {})
            models = components.setdefault("schemas", {})
            models.update(spec_component_schemas())
            # bodies the routes read themselves
            bodies: list[tuple[str, TypeAdapter[Any]]] = [
                ("Problem", TypeAdapter(Problem)), ("MetricBatchCreate", METRIC_BATCH),
                ("GitHubPayload", TypeAdapter(GitHubPayload)),
                ("GitLabPayload", TypeAdapter(GitLabPayload)),
                ("GenericEvent", TypeAdapter(GenericEvent))]
            for name, adapter in bodies:
                model_schema = adapter.json_schema(ref_template="#/components/schemas/{model}")
                models.update(model_schema.pop("$defs", {}))
                models[name] = model_schema
            _restore_examples(models)
            for name in ("HTTPValidationError", "ValidationError"):
                models.pop(name, None)
            components["securitySchemes"] = {BEARER: {
                "type": "http", "scheme": "bearer",
                "description": "an API token (`sqz_...`); each operation names the scope "
                               "it needs (write and worker grant read, admin grants all)"}}
            for dependant, operation in _operations(app, schema):
                scope = _scope(dependant)
                operation["security"] = [{BEARER: [scope]}] if scope else []
                _error_responses(operation, secured=scope is not None)
                _never_null(operation)
            _json_schema_bounds(schema)
            add_links(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
