"""Workers' versions: the squeezelab and torch versions a worker reports when it registers.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: a plain ADD COLUMN on both backends. Workers registered before
    # this revision, and older workers, sent no version; NULL reads as "unknown".
    op.add_column("workers", sa.Column("version", sa.String(64)))
    op.add_column("workers", sa.Column("torch_version", sa.String(64)))


def downgrade() -> None:
    # Batch mode: SQLite rebuilds the table where it cannot drop a column in place.
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("torch_version")
        batch.drop_column("version")
