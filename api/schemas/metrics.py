"""Metric points in, downsampled series out."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MetricKey = Field(min_length=1, max_length=128, pattern=r"^[\w.\-/@:]+$",
                  examples=["val/accuracy"])


class MetricPointCreate(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)

    key: str = MetricKey
    step: int = Field(ge=0, le=2**53, examples=[120])  # exact as a float8 too
    value: float = Field(examples=[0.94])
    wall_time: float | None = Field(default=None, ge=0, le=1e11,
                                    description="unix seconds; the server's clock if left out")


class MetricBatchCreate(BaseModel):
    points: list[MetricPointCreate] = Field(max_length=10_000)


class MetricBatchPublic(BaseModel):
    received: int
    inserted: int = Field(description="new points; re-posted (run, key, step) are not counted")


class Bucket(BaseModel):
    """Points with steps in [step_min, step_max]: min, max and the value at step_max."""

    step_min: int
    step_max: int
    count: int
    min: float
    max: float
    last: float


class SeriesPublic(BaseModel):
    run_id: int
    key: str
    total_points: int
    buckets: list[Bucket]


class SeriesSetPublic(BaseModel):
    series: list[SeriesPublic]


class MetricKeysPublic(BaseModel):
    run_id: int
    keys: list[str]
