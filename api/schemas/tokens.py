"""API token models; the token text appears once, in TokenCreated."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from api.schemas.common import example, request

Scope = Literal["metrics", "read", "write", "worker", "admin"]


TOKEN_EXAMPLE: JsonDict = {
    "id": 3, "name": "gpu-worker-1", "prefix": "3f9a0c7be21d", "scopes": ["worker"],
    "created_at": "2026-11-23T12:00:00Z", "last_used_at": None, "revoked_at": None}


class TokenCreate(BaseModel):
    model_config = request({"name": "gpu-worker-1", "scopes": ["worker"]})

    name: str = Field(min_length=1, max_length=128, examples=["gpu-worker-1"])
    scopes: list[Scope] = Field(min_length=1, max_length=5, examples=[["worker"]])


class TokenPublic(BaseModel):
    model_config = example(TOKEN_EXAMPLE)

    id: int
    name: str
    prefix: str = Field(description="the first 12 hex digits of the token's sha256, to "
                        "recognise it (`printf %s \"$TOKEN\" | sha256sum`); never "
                        "characters of the token itself")
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    model_config = example({**TOKEN_EXAMPLE, "token": "sqz_Xk2f9aQ-example-secret-shown-once"})

    token: str = Field(description="the secret; shown only in this response")


class TokensPublic(BaseModel):
    model_config = example({"items": [TOKEN_EXAMPLE]})

    items: list[TokenPublic]
