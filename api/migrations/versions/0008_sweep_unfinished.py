"""A counter of each sweep's unfinished (queued or running) runs: sweeps.runs_unfinished.

Revision ID: 0008_sweep_unfinished
Revises: 0007_run_lease_token
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_sweep_unfinished"
down_revision: str | None = "0007_run_lease_token"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NOT NULL with a server default: a plain ADD COLUMN on both backends, then the
    # existing sweeps are counted once (the API keeps the counter from here on).
    op.add_column("sweeps", sa.Column("runs_unfinished", sa.Integer(), nullable=False,
                                      server_default="0"))
    op.execute("UPDATE sweeps SET runs_unfinished = (SELECT count(*) FROM runs "
               "WHERE runs.sweep_id = sweeps.id AND runs.status IN ('queued', 'running'))")


def downgrade() -> None:
    # Batch mode: SQLite rebuilds the table where it cannot drop a column in place.
    with op.batch_alter_table("sweeps") as batch:
        batch.drop_column("runs_unfinished")
