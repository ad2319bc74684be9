"""Reading a sweep spec from a request body, JSON or YAML, and documenting that in OpenAPI."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml
from fastapi import Request

from api.deps import SettingsDep
from api.errors import UnsupportedMediaTypeError
from compression.errors import FieldError, InvalidSpecError
from compression.spec import SweepSpec, parse_spec
from compression.spec.limits import nesting_too_deep

JSON_TYPES = ("application/json",)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/plain")


@dataclass(frozen=True)
class SubmittedSpec:
    spec: SweepSpec
    raw: dict[str, Any]


def _decode(media: str, body: bytes) -> Any:
    text = body.decode("utf-8", errors="strict")
    if media in JSON_TYPES:
        return json.loads(text)
    return yaml.safe_load(text)


async def submitted_spec(request: Request, settings: SettingsDep) -> SubmittedSpec:
    """Parse and validate the body; an invalid spec raises ``InvalidSpecError`` (422), one
    that expands to more than ``settings.max_runs`` runs ``SweepTooLargeError`` (422)."""
    media = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media not in JSON_TYPES + YAML_TYPES:
        raise UnsupportedMediaTypeError(
            f"send the spec as JSON or YAML, not {media!r}")
    body = await request.body()
    try:
        data = _decode(media, body)
    except (ValueError, yaml.YAMLError) as exc:
        raise InvalidSpecError([FieldError("", f"not valid JSON or YAML: {exc}")]) from None
    except RecursionError:  # the decoders recurse once per level of nesting
        raise InvalidSpecError([nesting_too_deep()]) from None
    if not isinstance(data, dict):
        raise InvalidSpecError([FieldError("", "the spec must be a mapping")])
    return SubmittedSpec(parse_spec(data, max_runs=settings.max_runs), data)


def spec_request_body() -> dict[str, Any]:
    """The OpenAPI requestBody of sweep submission (the route reads the body itself)."""
    example = {"name": "quick", "task": "digits-mlp", "seeds": [0, 1],
               "recipes": [{"name": "agp", "prune": {"granularity": "unstructured"},
                            "schedule": {"kind": "agp", "final_sparsity": [0.5, 0.9],
                                         "end_epoch": 3},
                            "finetune": {"epochs": 5}}]}
    # A YAML body is YAML text of the same mapping: schema and example describe the mapping
    # (a string example would say the body is a YAML string, which is refused).
    spec = {"$ref": "#/components/schemas/SweepSpec"}
    return {"requestBody": {
        "required": True,
        "description": "the sweep spec, as JSON or as YAML text of the same mapping ("
                       f"{', '.join(YAML_TYPES)}); anything else is a 415",
        "content": {
            "application/json": {"schema": spec, "example": example},
            "application/yaml": {"schema": spec, "example": example},
        }}}


def spec_component_schemas() -> dict[str, Any]:
    """SweepSpec and its nested models, for ``components/schemas``."""
    schema = SweepSpec.model_json_schema(ref_template="#/components/schemas/{model}")
    defs: dict[str, Any] = schema.pop("$defs", {})
    return {**defs, "SweepSpec": schema}
