"""Initial schema: sweeps, runs, metric points, artifacts, workers, API tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("scopes", _json(), nullable=False),
        _time("created_at"), _time("last_used_at", True), _time("revoked_at", True),
    )
    op.create_table(
        "sweeps",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, index=True),
        sa.Column("task", sa.String(128), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("source", sa.String(16), nullable=False, index=True),
        sa.Column("repo", sa.String(256)),
        sa.Column("ref", sa.String(256)),
        sa.Column("sha", sa.String(64)),
        sa.Column("spec", _json(), nullable=False),
        _time("created_at"), _time("updated_at"), _time("ended_at", True),
    )
    op.create_table(
        "workers",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("hostname", sa.String(256), nullable=False),
        sa.Column("queues", _json(), nullable=False),
        sa.Column("tasks", _json(), nullable=False),
        sa.Column("hardware", _json(), nullable=False),
        sa.Column("current_run_id", sa.Integer()),
        _time("registered_at"), _time("last_heartbeat"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sweep_id", sa.Integer(),
                  sa.ForeignKey("sweeps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("variant", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(16), nullable=False),
        sa.Column("config", _json(), nullable=False),
        sa.Column("config_hash", sa.String(32), nullable=False),
        sa.Column("baseline_key", sa.String(32), nullable=False),
        sa.Column("depends_on_id", sa.Integer(),
                  sa.ForeignKey("runs.id", ondelete="CASCADE"), index=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(128)),
        _time("lease_expires_at", True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("summary", _json()),
        sa.Column("error", _json()),
        _time("created_at"), _time("started_at", True), _time("ended_at", True),
    )
    op.create_index("ix_runs_sweep_id_status", "runs", ["sweep_id", "status"])
    op.create_index("ix_runs_status_lease_expires_at", "runs", ["status", "lease_expires_at"])
    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(),
                  sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        _time("created_at"),
        sa.UniqueConstraint("run_id", "name", name="uq_artifacts_run_id_name"),
    )
    # The primary key (run, key, step) is both the idempotency rule and the read index.
    # No foreign key: a per-row check would double the cost of ingestion (see the model).
    op.create_table(
        "metric_points",
        sa.Column("run_id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("step", sa.BigInteger(), primary_key=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("wall_time", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    for table in ("metric_points", "artifacts", "runs", "workers", "sweeps", "api_tokens"):
        op.drop_table(table)
