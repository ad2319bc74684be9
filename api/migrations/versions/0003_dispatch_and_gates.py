"""Dispatch bookkeeping and gates: runs.enqueued_at, sweeps.gates.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns without defaults: a plain ADD COLUMN on both backends. Existing
    # queued runs get NULL, which the reconciler reads as "never sent" and sends once.
    op.add_column("runs", sa.Column("enqueued_at", sa.DateTime(timezone=True)))
    op.add_column("sweeps", sa.Column(
        "gates", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")))


def downgrade() -> None:
    # Batch mode: SQLite rebuilds the table where it cannot drop a column in place.
    with op.batch_alter_table("sweeps") as batch:
        batch.drop_column("gates")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("enqueued_at")
