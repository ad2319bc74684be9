"""Token prefixes from the hash: rows made before 0009 held the first characters of the
token's text in ``api_tokens.prefix``; they now hold the first 12 hex digits of its sha256,
as new rows do, so no part of a secret stays in the database.

Revision ID: 0009_token_prefix_scrub
Revises: 0008_sweep_unfinished
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_token_prefix_scrub"
down_revision: str | None = "0008_sweep_unfinished"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # substr works alike on PostgreSQL and SQLite; the hash is lowercase hex.
    op.execute("UPDATE api_tokens SET prefix = substr(token_hash, 1, 12)")


def downgrade() -> None:
    # The text is gone for good (only its hash is stored): nothing to restore.
    pass
