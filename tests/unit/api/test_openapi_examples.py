"""Every /api/v1 operation documents an example for its JSON body and its main 2xx answer,
and every example is valid against its own schema."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from pydantic import BaseModel, TypeAdapter
from typing_extensions import is_typeddict

from api.app import create_app
from api.schemas import (
    artifacts,
    metrics,
    runs,
    sweeps,
    tokens,
    triggers,
    uploads,
    webhooks,
    workers,
)
from api.settings import Settings
from compression.spec import parse_spec

pytestmark = pytest.mark.unit
JSON = "application/json"
REF = "#/components/schemas/"
Validator = Callable[[Any], object]


def _wire_validator(model: type[Any]) -> Validator:
    """Validate as the example would arrive: JSON text, not Python objects."""
    adapter = TypeAdapter(model)
    return lambda example: adapter.validate_json(json.dumps(example))


def _validators(*modules: ModuleType) -> dict[str, Validator]:
    """Component name -> a function that raises when an example does not fit the schema."""
    found: dict[str, Validator] = {"SweepSpec": parse_spec}
    for module in modules:
        for value in vars(module).values():
            if is_typeddict(value) or (isinstance(value, type)
                                       and issubclass(value, BaseModel)):
                found[value.__name__] = _wire_validator(value)
    return found


VALIDATORS = _validators(artifacts, metrics, runs, sweeps, tokens, triggers, uploads, webhooks,
                         workers)


def _json_media(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, media object) of each /api/v1 JSON request body and 2xx JSON response."""
    for path, operations in doc["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, op in operations.items():
            label = f"{method.upper()} {path}"
            body = op.get("requestBody", {}).get("content", {})
            if JSON in body:
                yield f"{label} request", body[JSON]
            for code, response in op.get("responses", {}).items():
                if code.startswith("2") and JSON in response.get("content", {}):
                    yield f"{label} {code}", response["content"][JSON]


def _examples(doc: dict[str, Any], media: dict[str, Any]) -> list[tuple[str, Any]]:
    """(component name, example) pairs for a media object: the media type's own example(s)
    against its schema, or else each referenced schema's ``examples``."""
    schema = media.get("schema", {})
    branches = schema.get("anyOf", [schema])
    names = [b["$ref"].removeprefix(REF) for b in branches if "$ref" in b]
    own = ([media["example"]] if "example" in media else
           [e["value"] for e in media.get("examples", {}).values()])
    if own:
        return [(names[0] if len(names) == 1 else "?", e) for e in own]
    components = doc["components"]["schemas"]
    pairs = [(name, e) for name in names for e in components[name].get("examples", [])]
    # a union is documented only when every branch is
    has_all = len(names) == len(branches) and all(
        components[n].get("examples") for n in names)
    return pairs if has_all else []


def _missing(doc: dict[str, Any]) -> list[str]:
    return [label for label, media in _json_media(doc) if not _examples(doc, media)]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    db = tmp_path_factory.mktemp("openapi") / "never-opened.db"
    return create_app(Settings(database_url=f"sqlite:///{db}", auth="on"))


def test_every_operation_has_examples(app: FastAPI) -> None:
    doc = app.openapi()
    assert sum(1 for _ in _json_media(doc)) > 30  # the walk does see the operations
    assert _missing(doc) == []


def test_examples_match_their_schemas(app: FastAPI) -> None:
    doc = app.openapi()
    checked = 0
    for label, media in _json_media(doc):
        for name, example in _examples(doc, media):
            assert name in VALIDATORS, f"{label}: no model to check the example of {name}"
            VALIDATORS[name](example)  # raises with the bad field when it does not fit
            checked += 1
    assert checked > 30


def test_yaml_spec_example_is_a_valid_spec(app: FastAPI) -> None:
    content = app.openapi()["paths"]["/api/v1/sweeps"]["post"]["requestBody"]["content"]
    # The example is the mapping a YAML body writes out (a YAML string is no spec).
    example = content["application/yaml"]["example"]
    parse_spec(yaml.safe_load(yaml.safe_dump(example)))


class Bare(BaseModel):
    value: int


def test_walk_reports_an_operation_without_example() -> None:
    app = FastAPI()

    @app.post("/api/v1/bare")
    def bare(body: Bare) -> Bare:
        return body

    assert _missing(app.openapi()) == ["POST /api/v1/bare request", "POST /api/v1/bare 200"]
    with pytest.raises(ValueError, match="received"):
        VALIDATORS["MetricBatchPublic"]({"received": "many"})
