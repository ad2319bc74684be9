"""Artifact models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from pydantic.config import JsonDict

from api.schemas.common import example

ARTIFACT_EXAMPLE: JsonDict = {
    "id": 7, "run_id": 42, "name": "model.safetensors", "size": 212000,
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "created_at": "2026-11-23T12:30:00Z"}


class ArtifactPublic(BaseModel):
    model_config = example(ARTIFACT_EXAMPLE)

    id: int
    run_id: int
    name: str
    size: int
    sha256: str
    created_at: datetime


class ArtifactsPublic(BaseModel):
    model_config = example({"items": [ARTIFACT_EXAMPLE]})

    items: list[ArtifactPublic]
