"""The metric batch schema of the ingestion hot path (TypedDicts validated from raw JSON)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from api.schemas.metrics import METRIC_BATCH

pytestmark = pytest.mark.unit


def _body(**point: object) -> str:
    return json.dumps({"points": [{"key": "val/accuracy", "step": 3, "value": 0.5, **point}]})


def test_valid_batch_keeps_values_and_drops_unknown_fields() -> None:
    batch = METRIC_BATCH.validate_json(_body(wall_time=0, extra="ignored", step="7"))
    assert batch == {"points": [{"key": "val/accuracy", "step": 7, "value": 0.5,
                                 "wall_time": 0.0}]}
    assert METRIC_BATCH.validate_json(_body())["points"][0].get("wall_time") is None


@pytest.mark.parametrize(("body", "where"), [
    ('{"points": [{"key": "a", "step": 1, "value": 1e999}]}', ("points", 0, "value")),
    ('{"points": [{"key": "a", "step": 1, "value": NaN}]}', ("points", 0, "value")),
    (_body(key="has space"), ("points", 0, "key")),
    (_body(step=-1), ("points", 0, "step")),
    (_body(step=1.5), ("points", 0, "step")),
    (_body(wall_time=-1), ("points", 0, "wall_time")),
    (json.dumps({"points": [{"key": "k", "step": s, "value": 0} for s in range(10_001)]}),
     ("points",)),
])
def test_invalid_batches_are_rejected_at_the_bad_field(body: str, where: tuple[object, ...]
                                                       ) -> None:
    with pytest.raises(ValidationError) as caught:
        METRIC_BATCH.validate_json(body)
    assert [err["loc"][:len(where)] for err in caught.value.errors()] == [where]
