"""The OpenAPI document: the sweep spec schemas, and problem+json for every error."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field, TypeAdapter

from api.problems import PROBLEM
from api.schemas import artifacts, metrics, runs, sweeps, tokens, triggers, webhooks, workers
from api.schemas.metrics import METRIC_BATCH
from api.schemas.webhooks import GenericEvent, GitHubPayload, GitLabPayload
from api.spec_body import spec_component_schemas


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


def _problem_responses(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for code, response in responses.items():
        if code[0] in "45":
            response["content"] = {PROBLEM: {"schema": _REF}}
    responses.setdefault("4XX", {"description": "client error",
                                 "content": {PROBLEM: {"schema": _REF}}})
    responses.setdefault("5XX", {"description": "server error or database unavailable",
                                 "content": {PROBLEM: {"schema": _REF}}})


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


def install_openapi(app: FastAPI) -> None:
    """Build the schema once, with SweepSpec and Problem in components."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version,
                                 description=app.description, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(spec_component_schemas())
            # bodies the routes read themselves
            bodies: list[tuple[str, TypeAdapter[Any]]] = [
                ("Problem", TypeAdapter(Problem)), ("MetricBatchCreate", METRIC_BATCH),
                ("GitHubPayload", TypeAdapter(GitHubPayload)),
                ("GitLabPayload", TypeAdapter(GitLabPayload)),
                ("GenericEvent", TypeAdapter(GenericEvent))]
            for name, adapter in bodies:
                model_schema = adapter.json_schema(ref_template="#/components/schemas/{model}")
                components.update(model_schema.pop("$defs", {}))
                components[name] = model_schema
            _restore_examples(components)
            for name in ("HTTPValidationError", "ValidationError"):
                components.pop(name, None)
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    _problem_responses(operation)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
