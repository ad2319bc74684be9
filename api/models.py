"""SQLAlchemy 2.0 typed ORM models: the database is the source of truth."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite returns naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


# JSONB on PostgreSQL (indexable, compact); JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSONType, list[str]: JSONType, datetime: UTCDateTime}


class Sweep(Base):
    __tablename__ = "sweeps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    task: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    source: Mapped[str] = mapped_column(String(16), index=True)
    repo: Mapped[str | None] = mapped_column(String(256))
    ref: Mapped[str | None] = mapped_column(String(256))
    sha: Mapped[str | None] = mapped_column(String(64))
    spec: Mapped[dict[str, Any]]
    # The gates report (api.services.gates), written when the sweep ends.
    gates: Mapped[dict[str, Any] | None]
    # Runs still queued or running, kept by every transition that ends or requeues runs, so
    # a run's end checks "was it the last?" with one UPDATE (api.services.sweeps_state).
    runs_unfinished: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    ended_at: Mapped[datetime | None]


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_sweep_id_status", "sweep_id", "status"),
        Index("ix_runs_status_lease_expires_at", "status", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sweep_id: Mapped[int] = mapped_column(ForeignKey("sweeps.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(256))
    # The grid point without its seed: runs of one variant are aggregated across seeds.
    variant: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    seed: Mapped[int] = mapped_column(Integer)
    queue: Mapped[str] = mapped_column(String(16))
    config: Mapped[dict[str, Any]]
    config_hash: Mapped[str] = mapped_column(String(32))
    baseline_key: Mapped[str] = mapped_column(String(32))
    depends_on_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    # The API token that claimed the lease: only it may renew, end or write to the run (NULL
    # when auth is off). No foreign key: tokens are revoked, never deleted.
    lease_token_id: Mapped[int | None] = mapped_column(Integer)
    lease_expires_at: Mapped[datetime | None]
    # When the run was last handed to the broker; NULL when never, or when that failed.
    enqueued_at: Mapped[datetime | None]
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    summary: Mapped[dict[str, Any] | None]
    error: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]


class MetricPoint(Base):
    """One point of a curve; the primary key makes re-posting a point a no-op.

    No foreign key to runs: a per-row FK check costs as much as the insert itself, so the
    ingest service checks the run once per batch and deleting a sweep deletes its points.
    """

    __tablename__ = "metric_points"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    wall_time: Mapped[float] = mapped_column(Float)


class MetricRollup(Base):
    """Pre-aggregated buckets of a series at fixed step widths (16, 64, ... 4**9), kept up
    to date at ingestion, so a downsampled read touches a few thousand rows at most."""

    __tablename__ = "metric_rollups"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # no FK: see MetricPoint
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    width: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    first_step: Mapped[int] = mapped_column(BigInteger)
    last_step: Mapped[int] = mapped_column(BigInteger)
    last_value: Mapped[float] = mapped_column(Float)


class Artifact(Base):
    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("run_id", "name", name="uq_artifacts_run_id_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Upload(Base):
    """A file a user uploaded for sweeps to name (pretrained weights), stored by its sha256."""

    __tablename__ = "uploads"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Worker(Base):
    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(256))
    queues: Mapped[list[str]]
    tasks: Mapped[list[str]]
    hardware: Mapped[dict[str, Any]]
    version: Mapped[str | None] = mapped_column(String(64))  # squeezelab's, as it reported
    torch_version: Mapped[str | None] = mapped_column(String(64))
    current_run_id: Mapped[int | None] = mapped_column(Integer)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_heartbeat: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """An API token; only its sha256 is stored (tokens are 256-bit random, so no KDF)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[str]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Trigger(Base):
    """A CI rule: deliveries of ``provider`` for ``repository`` whose event and branch match
    create a sweep from ``template``. The secret and the status token are write-only (no
    route returns them); they are kept as given because verifying an HMAC needs the key."""

    __tablename__ = "triggers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    provider: Mapped[str] = mapped_column(String(16))
    repository: Mapped[str] = mapped_column(String(256), index=True)
    events: Mapped[list[str]]
    branches: Mapped[list[str]]
    template: Mapped[dict[str, Any]]
    secret: Mapped[str] = mapped_column(String(256))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Commit-status reporting: off while status_api is NULL.
    status_api: Mapped[str | None] = mapped_column(String(16))
    status_api_base: Mapped[str | None] = mapped_column(String(512))
    status_token: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookDelivery(Base):
    """One authenticated webhook delivery; the unique key makes a replay a no-op."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("provider", "delivery_id",
                                       name="uq_webhook_deliveries_provider_delivery_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(64))
    repository: Mapped[str | None] = mapped_column(String(256))
    ref: Mapped[str | None] = mapped_column(String(256))
    sha: Mapped[str | None] = mapped_column(String(64))
    # created | ignored | ping | error (and "processing" while it is being handled)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(1024), default="")
    sweep_ids: Mapped[list[int]] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class CommitStatus(Base):
    """A commit status to post (an outbox row): the API's notifier sends it after commit,
    retrying with backoff, and records how it went."""

    __tablename__ = "commit_statuses"
    __table_args__ = (
        Index("ix_commit_statuses_outcome_next_attempt_at", "outcome", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sweep_id: Mapped[int] = mapped_column(ForeignKey("sweeps.id", ondelete="CASCADE"),
                                          index=True)
    trigger_id: Mapped[int | None] = mapped_column(
        ForeignKey("triggers.id", ondelete="SET NULL"))
    repo: Mapped[str] = mapped_column(String(256))
    sha: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # pending | success | failure | error
    description: Mapped[str] = mapped_column(String(140))
    target_url: Mapped[str] = mapped_column(String(512))
    outcome: Mapped[str] = mapped_column(String(16))  # queued | sent | failed | superseded
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    response_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
