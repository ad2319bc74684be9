"""Migration 0009: a token stored with characters of its text as its prefix keeps only the
start of its hash afterwards."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from api.migrate import alembic_config

pytestmark = pytest.mark.integration


def test_the_migration_replaces_text_prefixes_with_hash_prefixes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "0008_sweep_unfinished")
    secret = "sqz_an-old-token-whose-text-was-its-prefix"
    digest = hashlib.sha256(secret.encode()).hexdigest()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO api_tokens (name, token_hash, prefix, scopes, created_at) "
            "VALUES ('old', :hash, :prefix, '[\"read\"]', :now)"),
            {"hash": digest, "prefix": secret[:8], "now": datetime.now(UTC)})
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        prefix = conn.execute(text("SELECT prefix FROM api_tokens")).scalar_one()
    assert prefix == digest[:12] and secret[4:8] not in prefix
    command.downgrade(cfg, "0008_sweep_unfinished")  # nothing to undo, and no error
    engine.dispose()
