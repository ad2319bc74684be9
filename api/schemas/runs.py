"""Run request/response models. The run summary is ``compression.spec.summary.RunSummary``,
the one model the engine, the API and the SDK share (design.md, "Run summary")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool
from pydantic.config import JsonDict

from api.schemas.common import example, request
from compression.spec.summary import RunSummary
from compression.spec.types import WORD

RunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
WorkerId = Field(min_length=1, max_length=128, pattern=rf"^[{WORD}.:@\-]+$",
                 examples=["worker-cpu-1:4242"])


RUN_EXAMPLE: JsonDict = {
    "id": 42, "sweep_id": 1, "name": "quick/agp/final_sparsity=0.9/seed=0",
    "variant": "agp/final_sparsity=0.9", "kind": "compress", "status": "succeeded", "seed": 0,
    "queue": "cpu", "config": {"recipe": "agp", "final_sparsity": 0.9},
    "config_hash": "3b1f0c9e", "baseline_key": "digits-mlp/seed=0", "depends_on_id": 41,
    "attempt": 1, "lease_owner": None, "lease_expires_at": None, "cancel_requested": False,
    "summary": {"accuracy": 0.968, "sparsity": 0.9}, "error": None,
    "created_at": "2026-11-23T12:00:00Z", "started_at": "2026-11-23T12:01:00Z",
    "ended_at": "2026-11-23T12:04:30Z"}


class RunError(BaseModel):
    model_config = request()

    type: str = Field(min_length=1, max_length=128, examples=["ImpossibleTargetError"])
    message: str = Field(max_length=10_000)
    traceback: str | None = Field(default=None, max_length=100_000)


class RunPublic(BaseModel):
    model_config = example(RUN_EXAMPLE)

    id: int
    sweep_id: int
    name: str
    variant: str
    kind: Literal["baseline", "compress"]
    status: RunStatus
    seed: int
    queue: str
    config: dict[str, Any]
    config_hash: str
    baseline_key: str
    depends_on_id: int | None
    attempt: int
    lease_owner: str | None
    lease_expires_at: datetime | None
    cancel_requested: bool
    summary: dict[str, Any] | None
    error: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None


class RunsPublic(BaseModel):
    model_config = example({"items": [RUN_EXAMPLE], "next_cursor": "eyJhZnRlciI6IDQyfQ"})

    items: list[RunPublic]
    next_cursor: str | None


class RunClaim(BaseModel):
    model_config = request({"worker_id": "worker-cpu-1:4242"})

    worker_id: str = WorkerId


class RunHeartbeat(BaseModel):
    model_config = request({"worker_id": "worker-cpu-1:4242"})

    worker_id: str = WorkerId


class HeartbeatPublic(BaseModel):
    model_config = example({"cancel": False, "lease_expires_at": "2026-11-23T12:02:00Z"})

    cancel: bool = Field(description="true when the run was cancelled: stop and report")
    lease_expires_at: datetime | None


class RunComplete(BaseModel):
    model_config = request({"worker_id": "worker-cpu-1:4242",
                            "summary": {"accuracy": 0.968, "sparsity": 0.9}})

    worker_id: str = WorkerId
    summary: RunSummary


class RunFail(BaseModel):
    model_config = request({"worker_id": "worker-cpu-1:4242", "retryable": False,
                            "error": {"type": "ImpossibleTargetError",
                                      "message": "cannot reach 99% sparsity"}})

    worker_id: str = WorkerId
    error: RunError
    retryable: StrictBool = Field(default=False,
                            description="transport/infrastructure errors; user errors are not")
    summary: RunSummary | None = Field(
        default=None, description="the figures of a run that finished but cannot count as a "
        "result (its summary's failure says why); kept for inspection, never with retryable")
