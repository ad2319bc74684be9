"""Artifact models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class ArtifactPublic(BaseModel):
    id: int
    run_id: int
    name: str
    size: int
    sha256: str
    created_at: datetime


class ArtifactsPublic(BaseModel):
    items: list[ArtifactPublic]
