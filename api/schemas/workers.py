"""Worker registry models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from api.schemas.common import example

WORKER_EXAMPLE: JsonDict = {
    "id": "gpu-box-1:4242", "hostname": "gpu-box-1", "queues": ["cpu", "gpu"],
    "tasks": ["digits-mlp", "digits-cnn"], "hardware": {"gpu": "H100", "torch": "2.13"},
    "current_run_id": 42, "registered_at": "2026-11-23T12:00:00Z",
    "last_heartbeat": "2026-11-23T12:31:10Z", "alive": True}


class WorkerRegister(BaseModel):
    model_config = example({"id": "gpu-box-1:4242", "hostname": "gpu-box-1",
                            "queues": ["cpu", "gpu"], "tasks": ["digits-mlp", "digits-cnn"],
                            "hardware": {"gpu": "H100", "torch": "2.13"}})

    id: str = Field(min_length=1, max_length=128, pattern=r"^[\w.:@\-]+$",
                    examples=["gpu-box-1:4242"])
    hostname: str = Field(min_length=1, max_length=256)
    queues: list[str] = Field(min_length=1, max_length=8, examples=[["cpu", "gpu"]])
    tasks: list[str] = Field(default_factory=list, max_length=1000,
                             examples=[["digits-mlp", "digits-cnn"]])
    hardware: dict[str, Any] = Field(default_factory=dict,
                                     examples=[{"cpu": "Xeon", "gpu": "H100", "torch": "2.13"}])


class WorkerHeartbeat(BaseModel):
    model_config = example({"current_run_id": 42})

    current_run_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class WorkerPublic(BaseModel):
    model_config = example(WORKER_EXAMPLE)

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
    model_config = example({"items": [WORKER_EXAMPLE]})

    items: list[WorkerPublic]
