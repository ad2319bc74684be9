"""Leases bound to tokens: runs.lease_token_id, the API token that claimed the run.

Revision ID: 0007_run_lease_token
Revises: 0006
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_run_lease_token"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: a plain ADD COLUMN on both backends. Runs that are running
    # across the upgrade were claimed without a token: NULL binds none (api.services.leases),
    # so their workers finish them as before.
    op.add_column("runs", sa.Column("lease_token_id", sa.Integer()))


def downgrade() -> None:
    # Batch mode: SQLite rebuilds the table where it cannot drop a column in place.
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("lease_token_id")
