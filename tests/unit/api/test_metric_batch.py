"""The ingestion hot path: the metric batch schema (TypedDicts validated from raw JSON) and
the array literals the batch goes to PostgreSQL in."""

from __future__ import annotations

import json
import struct

import pytest
from pydantic import TypeAdapter, ValidationError

from api.schemas.metrics import METRIC_BATCH
from api.services.metrics import array_literal

pytestmark = pytest.mark.unit


def _body(**point: object) -> str:
    return json.dumps({"points": [{"key": "val/accuracy", "step": 3, "value": 0.5, **point}]})


def test_valid_batch_keeps_values_and_drops_unknown_fields() -> None:
    batch = METRIC_BATCH.validate_json(_body(wall_time=0, extra="ignored", step=7))
    assert batch == {"points": [{"key": "val/accuracy", "step": 7, "value": 0.5,
                                 "wall_time": 0.0}]}
    assert METRIC_BATCH.validate_json(_body())["points"][0].get("wall_time") is None


@pytest.mark.parametrize(("body", "where"), [
    ('{"points": [{"key": "a", "step": 1, "value": 1e999}]}', ("points", 0, "value")),
    ('{"points": [{"key": "a", "step": 1, "value": NaN}]}', ("points", 0, "value")),
    (_body(key="has space"), ("points", 0, "key")),
    (_body(step=-1), ("points", 0, "step")),
    (_body(step=1.5), ("points", 0, "step")),
    # Strict, as the OpenAPI document says: an integer, not a string or a boolean.
    (_body(step="7"), ("points", 0, "step")),
    (_body(step=True), ("points", 0, "step")),
    (_body(value="0.5"), ("points", 0, "value")),
    (_body(wall_time=-1), ("points", 0, "wall_time")),
    (json.dumps({"points": [{"key": "k", "step": s, "value": 0} for s in range(10_001)]}),
     ("points",)),
])
def test_invalid_batches_are_rejected_at_the_bad_field(body: str, where: tuple[object, ...]
                                                       ) -> None:
    with pytest.raises(ValidationError) as caught:
        METRIC_BATCH.validate_json(body)
    assert [err["loc"][:len(where)] for err in caught.value.errors()] == [where]


def test_array_literals_carry_exact_numbers_and_nulls() -> None:
    floats = [0.1, 1 / 3, -2.5e-310, 1.7976931348623157e308, 1e22, -0.0, 7.0]
    literal = array_literal(TypeAdapter(list[float]), floats)
    assert literal.startswith("{") and literal.endswith("}")
    parsed = [float(x) for x in literal[1:-1].split(",")]
    assert [struct.pack(">d", x) for x in parsed] == [struct.pack(">d", x) for x in floats]
    optional: list[float | None] = [1.5, None, 2.0]
    assert array_literal(TypeAdapter(list[float | None]), optional) == "{1.5,null,2.0}"
    assert array_literal(TypeAdapter(list[int]), [0, 2**53]) == "{0,9007199254740992}"
    assert array_literal(TypeAdapter(list[int]), []) == "{}"
