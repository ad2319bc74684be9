"""Fixtures of the security tests: the API on a fresh PostgreSQL database, the backend that
refuses what SQLite would store (NUL characters, Infinity in JSON, integers wider than a
column), so a value the API lets through shows up as a 500 here. The database is migrated
with Alembic and dropped afterwards; every test starts from empty tables."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from liveapi import migrate
from pydantic import SecretStr
from securityhelpers import ADMIN_TOKEN, serving
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.settings import Settings

PG_ADMIN_URL = os.environ.get("SQUEEZELAB_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def security_database() -> Iterator[str]:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"squeezelab_security_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL unavailable at {PG_ADMIN_URL}: {exc}")
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def settings(security_database: str, tmp_path: Path) -> Settings:
    return Settings(database_url=security_database, auth="on",
                    admin_token=SecretStr(ADMIN_TOKEN), artifact_dir=tmp_path / "artifacts",
                    max_body_bytes=4 * 1024 * 1024, reconcile_interval_s=0,
                    status_poll_interval_s=0)


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    with serving(settings) as app:
        yield app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An admin client; server errors come back as responses (a 500 fails an assertion)."""
    with TestClient(app, raise_server_exceptions=False,
                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as c:
        yield c


@pytest.fixture
def hooks(app: FastAPI, client: TestClient) -> Iterator[TestClient]:
    """Webhook deliveries carry a signature, not a token: a client without one."""
    with TestClient(app, raise_server_exceptions=False) as plain:
        yield plain
