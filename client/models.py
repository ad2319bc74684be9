"""Typed values returned by the SDK (the client's own view of the API's JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from compression.spec.summary import RunSummary

Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]
T = TypeVar("T")


class _Model(BaseModel):
    # Fields the API adds later are ignored, so an older client keeps working.
    model_config = ConfigDict(extra="ignore", frozen=True)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; pass ``next_cursor`` back for the next one."""

    items: list[T]
    next_cursor: str | None


class RunPlan(_Model):
    name: str
    kind: Literal["baseline", "compress"]
    seed: int
    queue: str
    config_hash: str
    baseline_key: str
    params: dict[str, Any]


class SweepPlan(_Model):
    """What a spec expands to (a dry run); nothing was stored. ``runs`` is one page."""

    name: str
    task: str
    run_count: int
    baseline_count: int
    runs: list[RunPlan]
    next_cursor: str | None


class SweepCreated(_Model):
    id: int
    name: str
    status: Status
    baseline_run_ids: list[int]
    run_ids: list[int]


class GateResult(_Model):
    """One gate checked against one variant (the best, or a recipe's best)."""

    gate: str
    recipe: str | None = None
    variant: str | None = None
    value: float | None = None
    threshold: float
    passed: bool


class GateBest(_Model):
    """The best variant's figures, means over its seeds."""

    variant: str
    recipe: str
    run_ids: list[int]
    seeds: int
    metric: str | None = None
    metric_goal: Literal["max", "min"] | None = None
    metric_value: float | None = None
    metric_drop: float | None = None
    accuracy: float | None = None
    accuracy_drop: float | None = None
    speedup: float | None = None
    speedup_runtime: str | None = None
    speedup_batch: int | None = None
    stored_bytes: int | None = None


class Gates(_Model):
    """A sweep's gates, evaluated when it ended; ``passed`` is None without gates."""

    passed: bool | None = None
    apply_to: str = "best"
    results: list[GateResult] = []
    best: GateBest | None = None
    description: str = ""


class SweepMetric(_Model):
    """The primary metric a sweep's spec declares."""

    name: str
    goal: Literal["max", "min"]


class Sweep(_Model):
    id: int
    name: str
    task: str
    status: Status
    source: str
    repo: str | None = None
    ref: str | None = None
    sha: str | None = None
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None = None
    run_count: int
    metric: SweepMetric | None = None
    counts: dict[str, int]
    spec: dict[str, Any] | None = None
    gates: Gates | None = None


class RetryResult(_Model):
    sweep_id: int
    requeued_run_ids: list[int]


class ParetoPoint(_Model):
    variant: str
    kind: str
    run_ids: list[int]
    seeds: int
    x_mean: float
    x_std: float
    y_mean: float
    y_std: float
    on_front: bool


class Pareto(_Model):
    sweep_id: int
    x: str
    y: str
    points: list[ParetoPoint]
    front: list[str]


class Run(_Model):
    id: int
    sweep_id: int
    name: str
    variant: str
    kind: Literal["baseline", "compress"]
    status: Status
    seed: int
    queue: str
    config: dict[str, Any]
    config_hash: str
    baseline_key: str
    depends_on_id: int | None = None
    attempt: int
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    cancel_requested: bool = False
    summary: RunSummary | None = None
    error: dict[str, Any] | None = None
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None


class Heartbeat(_Model):
    """The lease renewal's reply: stop and report when ``cancel`` is true."""

    cancel: bool
    lease_expires_at: datetime | None = None


class MetricBatchResult(_Model):
    received: int
    inserted: int


class Bucket(_Model):
    step_min: int
    step_max: int
    count: int
    min: float
    max: float
    last: float


class Series(_Model):
    run_id: int
    key: str
    total_points: int
    buckets: list[Bucket]


class Artifact(_Model):
    id: int
    run_id: int
    name: str
    size: int
    sha256: str
    created_at: datetime


class Upload(_Model):
    """A file stored by the API; put ``ref`` in a spec (``baseline: {weights: <ref>}``)."""

    ref: str
    sha256: str
    name: str
    size: int
    created_at: datetime


class Worker(_Model):
    id: str
    hostname: str
    queues: list[str]
    tasks: list[str]
    hardware: dict[str, Any]
    version: str | None = None
    torch_version: str | None = None
    current_run_id: int | None = None
    registered_at: datetime
    last_heartbeat: datetime
    alive: bool


class Token(_Model):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class TokenCreated(Token):
    """A new token; ``token`` is the secret, shown only this once."""

    token: str


class StatusReporting(_Model):
    """Where a trigger posts commit statuses; the token itself is never returned."""

    api: str
    api_base: str
    has_token: bool


class Trigger(_Model):
    """A CI rule: deliveries of ``provider`` for ``repository`` matching ``events`` and
    ``branches`` create a sweep from ``template``. The secret is never returned."""

    id: int
    name: str
    provider: str
    repository: str
    events: list[str]
    branches: list[str]
    template: dict[str, Any]
    enabled: bool
    has_secret: bool
    statuses: StatusReporting | None = None
    created_at: datetime
    updated_at: datetime


class TriggerCreated(Trigger):
    """A new trigger; ``secret`` is the generated secret (shown once), None if you gave one."""

    secret: str | None = None


class Delivery(_Model):
    """An authenticated webhook delivery and what it did."""

    id: int
    provider: str
    delivery_id: str
    event: str
    repository: str | None = None
    ref: str | None = None
    sha: str | None = None
    outcome: str
    reason: str
    sweep_ids: list[int]
    received_at: datetime


class CommitStatus(_Model):
    """A commit status posted (or being posted) for a CI sweep."""

    id: int
    sweep_id: int
    trigger_id: int | None = None
    repo: str
    sha: str
    state: str
    description: str
    target_url: str
    outcome: str
    attempts: int
    response_status: int | None = None
    last_error: str | None = None
    created_at: datetime
    sent_at: datetime | None = None


@dataclass(frozen=True)
class MetricPoint:
    """One point of a curve; ``wall_time`` (unix seconds) defaults to the server's clock."""

    key: str
    step: int
    value: float
    wall_time: float | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"key": self.key, "step": self.step, "value": self.value}
        if self.wall_time is not None:
            body["wall_time"] = self.wall_time
        return body
