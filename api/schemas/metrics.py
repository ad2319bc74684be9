"""Metric points in, downsampled series out."""

from __future__ import annotations

from typing import Annotated, NotRequired

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, with_config
from pydantic.config import JsonDict
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from api.schemas.common import JSON_INTEGER, example, request

# Letters of any script are welcome in a key ("val/précision"): ``\w`` as pydantic reads it
# (Unicode); JSON Schema's ECMA-262 reads it as ASCII, so the description says so.
MetricKey = Field(min_length=1, max_length=128, pattern=r"^[\w.\-/@:]+$",
                  description="letters and digits of any script, _ . - / @ :",
                  examples=["val/accuracy"])


BUCKET_EXAMPLE: JsonDict = {"step_min": 0, "step_max": 99, "count": 100,
                            "min": 0.12, "max": 0.94, "last": 0.93}
SERIES_EXAMPLE: JsonDict = {"run_id": 42, "key": "val/accuracy", "total_points": 100000,
                            "buckets": [BUCKET_EXAMPLE]}


# Points in are TypedDicts, not models: ingestion validates up to 10,000 per request, and
# validating into dicts costs about half as much as building model instances.
@with_config(ConfigDict(allow_inf_nan=False, strict=True))
class MetricPointCreate(TypedDict):
    key: Annotated[str, MetricKey]
    step: Annotated[int, Field(strict=False, ge=0, le=2**53, examples=[120]),  # exact as a float8
                    JSON_INTEGER]
    value: Annotated[float, Field(examples=[0.94])]
    wall_time: NotRequired[Annotated[float | None, Field(
        ge=0, le=1e11, description="unix seconds; the server's clock if left out or null")]]


@with_config(request({"points": [{"key": "train/loss", "step": 120, "value": 0.31}]}))
class MetricBatchCreate(TypedDict):
    points: Annotated[list[MetricPointCreate], Field(max_length=10_000)]


METRIC_BATCH = TypeAdapter(MetricBatchCreate)


class MetricBatchPublic(BaseModel):
    model_config = example({"received": 1000, "inserted": 1000})

    received: int
    inserted: int = Field(description="new points; re-posted (run, key, step) are not counted")


class Bucket(BaseModel):
    """Points with steps in [step_min, step_max]: min, max and the value at step_max."""

    model_config = example(BUCKET_EXAMPLE)


    step_min: int
    step_max: int
    count: int
    min: float
    max: float
    last: float


class SeriesPublic(BaseModel):
    model_config = example(SERIES_EXAMPLE)

    run_id: int
    key: str
    total_points: int
    buckets: list[Bucket]


class SeriesSetPublic(BaseModel):
    model_config = example({"series": [SERIES_EXAMPLE]})

    series: list[SeriesPublic]


class MetricKeysPublic(BaseModel):
    model_config = example({"run_id": 42, "keys": ["train/loss", "val/accuracy"]})

    run_id: int
    keys: list[str]
