"""Worker registry models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class WorkerRegister(BaseModel):
    id: str = Field(min_length=1, max_length=128, pattern=r"^[\w.:@\-]+$",
                    examples=["gpu-box-1:4242"])
    hostname: str = Field(min_length=1, max_length=256)
    queues: list[str] = Field(min_length=1, max_length=8, examples=[["cpu", "gpu"]])
    tasks: list[str] = Field(default_factory=list, max_length=1000,
                             examples=[["digits-mlp", "digits-cnn"]])
    hardware: dict[str, Any] = Field(default_factory=dict,
                                     examples=[{"cpu": "Xeon", "gpu": "H100", "torch": "2.13"}])


class WorkerHeartbeat(BaseModel):
    current_run_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class WorkerPublic(BaseModel):
    id: str
    hostname: str
    queues: list[str]
    tasks: list[str]
    hardware: dict[str, Any]
    current_run_id: int | None
    registered_at: datetime
    last_heartbeat: datetime
    alive: bool = Field(description="heard from within two lease periods")


class WorkersPublic(BaseModel):
    items: list[WorkerPublic]
