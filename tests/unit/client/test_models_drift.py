"""The SDK's models keep step with the API's responses (as schema.d.ts does for the
dashboard): same fields, same JSON types, required where the API always sends a value.

The SDK may not import the API (an import-linter contract), so its models are its own;
this test compares them with the OpenAPI document the API serves, and fails on any drift.
The run summary needs no comparison: both use ``compression.spec.summary.RunSummary``.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from api.app import create_app
from client import models

pytestmark = pytest.mark.unit

# SDK model -> the API schema it reads.
PAIRS: dict[type[BaseModel], str] = {
    models.RunPlan: "RunPlan", models.SweepPlan: "SweepPlan",
    models.SweepCreated: "SweepCreated", models.GateResult: "GateResult",
    models.GateBest: "GateBest", models.Gates: "GatesReport", models.Sweep: "SweepPublic",
    models.SweepMetric: "SweepMetric",
    models.RetryResult: "RetryPublic", models.ParetoPoint: "ParetoPoint",
    models.Pareto: "ParetoPublic", models.Run: "RunPublic", models.Heartbeat: "HeartbeatPublic",
    models.MetricBatchResult: "MetricBatchPublic", models.Bucket: "Bucket",
    models.Series: "SeriesPublic", models.Artifact: "ArtifactPublic",
    models.Upload: "UploadPublic", models.Worker: "WorkerPublic", models.Token: "TokenPublic",
    models.TokenCreated: "TokenCreated", models.StatusReporting: "StatusReportingPublic",
    models.Trigger: "TriggerPublic", models.TriggerCreated: "TriggerCreated",
    models.Delivery: "DeliveryPublic", models.CommitStatus: "CommitStatusPublic",
}


@pytest.fixture(scope="module")
def components() -> dict[str, Any]:
    schemas: dict[str, Any] = create_app().openapi()["components"]["schemas"]
    return schemas


def _types(schema: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    """The JSON types a property schema allows (references and unions resolved)."""
    if "$ref" in schema:
        target = defs[schema["$ref"].rsplit("/", 1)[-1]]
        return _types(target, defs) if "$ref" in target or "anyOf" in target else {"object"}
    if "anyOf" in schema or "oneOf" in schema:
        return set().union(*(_types(s, defs) for s in schema.get("anyOf", schema.get("oneOf"))))
    if "enum" in schema or "const" in schema:
        values = schema.get("enum", [schema.get("const")])
        return {type(v).__name__.replace("str", "string").replace("NoneType", "null")
                for v in values}
    kind = schema.get("type")
    if kind == "integer":
        return {"integer"}
    return {kind} if kind else {"any"}


def _compatible(sdk: set[str], api: set[str]) -> bool:
    if "any" in sdk or "any" in api:
        return True
    # A float field reads integers too; an object may be typed on either side.
    widened = sdk | ({"integer"} if "number" in sdk else set())
    return api <= widened


@pytest.mark.parametrize("model", list(PAIRS), ids=lambda m: m.__name__)
def test_sdk_model_matches_the_api_schema(model: type[BaseModel],
                                          components: dict[str, Any]) -> None:
    api = components[PAIRS[model]]
    sdk = model.model_json_schema(ref_template="#/$defs/{model}")
    sdk_defs = sdk.get("$defs", {})
    api_props, sdk_props = api["properties"], sdk["properties"]
    assert set(sdk_props) == set(api_props), (
        f"{model.__name__} vs {PAIRS[model]}: only in the SDK {set(sdk_props) - set(api_props)}, "
        f"only in the API {set(api_props) - set(sdk_props)}")
    for name, prop in api_props.items():
        sdk_types = _types(sdk_props[name], sdk_defs)
        api_types = _types(prop, components)
        assert _compatible(sdk_types, api_types), (model.__name__, name, sdk_types, api_types)
    # The SDK must not require what the API may leave out.
    assert set(sdk.get("required", [])) <= set(api.get("required", [])), model.__name__


def test_every_api_response_model_has_an_sdk_model(components: dict[str, Any]) -> None:
    paired = set(PAIRS.values())
    lists = {"ArtifactsPublic", "CommitStatusesPublic", "DeliveriesPublic", "RunsPublic",
             "SweepsPublic", "TokensPublic", "TriggersPublic", "UploadsPublic",
             "WorkersPublic", "SeriesSetPublic", "MetricKeysPublic"}  # {"items": [...]} pages
    public = {name for name in components if name.endswith("Public")}
    assert public - paired - lists == {"HealthPublic"}  # health is for probes, not the SDK
