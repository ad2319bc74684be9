"""Worker registry models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from api.schemas.common import JSON_INTEGER, MAX_ID, example, request
from compression.spec.types import WORD

WORKER_EXAMPLE: JsonDict = {
    "id": "gpu-box-1:4242", "hostname": "gpu-box-1", "queues": ["cpu", "gpu"],
    "tasks": ["digits-mlp", "digits-cnn"], "hardware": {"gpu": "H100", "torch": "2.13"},
    "version": "0.1.0", "torch_version": "2.13.0", "current_run_id": 42,
    "registered_at": "2026-11-23T12:00:00Z", "last_heartbeat": "2026-11-23T12:31:10Z",
    "alive": True}


class WorkerRegister(BaseModel):
    model_config = request({"id": "gpu-box-1:4242", "hostname": "gpu-box-1",
                            "queues": ["cpu", "gpu"], "tasks": ["digits-mlp", "digits-cnn"],
                            "hardware": {"gpu": "H100", "torch": "2.13"},
                            "version": "0.1.0", "torch_version": "2.13.0"})

    id: str = Field(min_length=1, max_length=128, pattern=rf"^[{WORD}.:@\-]+$",
                    examples=["gpu-box-1:4242"])
    hostname: str = Field(min_length=1, max_length=256)
    queues: list[str] = Field(min_length=1, max_length=8, examples=[["cpu", "gpu"]])
    tasks: list[str] = Field(default_factory=list, max_length=1000,
                             examples=[["digits-mlp", "digits-cnn"]])
    hardware: dict[str, Any] = Field(default_factory=dict,
                                     examples=[{"cpu": "Xeon", "gpu": "H100", "torch": "2.13"}])
    # Optional: workers older than this field send none, and still register.
    version: str | None = Field(default=None, min_length=1, max_length=64,
                                description="the worker's squeezelab version")
    torch_version: str | None = Field(default=None, min_length=1, max_length=64)


class WorkerHeartbeat(BaseModel):
    model_config = request({"current_run_id": 42})

    current_run_id: Annotated[int, Field(strict=False, ge=1, le=MAX_ID),
                              JSON_INTEGER] | None = None


class WorkerPublic(BaseModel):
    model_config = example(WORKER_EXAMPLE)

    id: str
    hostname: str
    queues: list[str]
    tasks: list[str]
    hardware: dict[str, Any]
    version: str | None = Field(description="the worker's squeezelab version (null: it did "
                                "not say)")
    torch_version: str | None
    current_run_id: int | None
    registered_at: datetime
    last_heartbeat: datetime
    alive: bool = Field(description="heard from within two lease periods")


class WorkersPublic(BaseModel):
    model_config = example({"items": [WORKER_EXAMPLE], "api_version": "0.1.0"})

    items: list[WorkerPublic]
    api_version: str = Field(description="the API's squeezelab version, which each worker's "
                             "should match")
