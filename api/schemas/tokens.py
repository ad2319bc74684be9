"""API token models; the token text appears once, in TokenCreated."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Scope = Literal["read", "write", "worker", "admin"]


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128, examples=["gpu-worker-1"])
    scopes: list[Scope] = Field(min_length=1, max_length=4, examples=[["worker"]])


class TokenPublic(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="the first characters, to recognise a token")
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    token: str = Field(description="the secret; shown only in this response")


class TokensPublic(BaseModel):
    items: list[TokenPublic]
