"""CI: triggers, webhook deliveries and the commit-status outbox.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "triggers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repository", sa.String(256), nullable=False, index=True),
        sa.Column("events", _json(), nullable=False),
        sa.Column("branches", _json(), nullable=False),
        sa.Column("template", _json(), nullable=False),
        sa.Column("secret", sa.String(256), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("status_api", sa.String(16)),
        sa.Column("status_api_base", sa.String(512)),
        sa.Column("status_token", sa.String(512)),
        _time("created_at"), _time("updated_at"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("delivery_id", sa.String(128), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("repository", sa.String(256)),
        sa.Column("ref", sa.String(256)),
        sa.Column("sha", sa.String(64)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(1024), nullable=False),
        sa.Column("sweep_ids", _json(), nullable=False),
        _time("received_at"),
        sa.UniqueConstraint("provider", "delivery_id",
                            name="uq_webhook_deliveries_provider_delivery_id"),
    )
    op.create_index("ix_webhook_deliveries_received_at", "webhook_deliveries", ["received_at"])
    op.create_table(
        "commit_statuses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sweep_id", sa.Integer(),
                  sa.ForeignKey("sweeps.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("trigger_id", sa.Integer(),
                  sa.ForeignKey("triggers.id", ondelete="SET NULL")),
        sa.Column("repo", sa.String(256), nullable=False),
        sa.Column("sha", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("description", sa.String(140), nullable=False),
        sa.Column("target_url", sa.String(512), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("next_attempt_at"),
        sa.Column("response_status", sa.Integer()),
        sa.Column("last_error", sa.String(512)),
        _time("created_at"), _time("sent_at", True),
    )
    op.create_index("ix_commit_statuses_outcome_next_attempt_at", "commit_statuses",
                    ["outcome", "next_attempt_at"])


def downgrade() -> None:
    for table in ("commit_statuses", "webhook_deliveries", "triggers"):
        op.drop_table(table)
