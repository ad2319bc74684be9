"""Upload models: files a sweep spec names as ``upload:<sha256>``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from api.schemas.common import example

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
UPLOAD_EXAMPLE: JsonDict = {
    "ref": f"upload:{SHA}", "sha256": SHA, "name": "model.safetensors", "size": 212000,
    "created_at": "2026-12-01T12:30:00Z"}


class UploadPublic(BaseModel):
    model_config = example(UPLOAD_EXAMPLE)

    ref: str = Field(description="what a spec names: baseline.weights: upload:<sha256>")
    sha256: str
    name: str
    size: int
    created_at: datetime


class UploadsPublic(BaseModel):
    model_config = example({"items": [UPLOAD_EXAMPLE]})

    items: list[UploadPublic]
