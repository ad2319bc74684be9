"""API fixtures: a fresh database per backend (SQLite file, PostgreSQL database), migrated
with Alembic and dropped afterwards; an app with a recording enqueuer; an admin client."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from apihelpers import ADMIN_TOKEN, RecordingEnqueuer, migrate
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.app import create_app
from api.models import Base
from api.settings import Settings

PG_ADMIN_URL = os.environ.get("SQUEEZELAB_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def postgresql_database() -> Iterator[str]:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"squeezelab_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server here: the SQLite half of the suite still runs
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


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'squeezelab.db'}"
    migrate(url)
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_database")
    return url


@pytest.fixture
def enqueuer() -> RecordingEnqueuer:
    return RecordingEnqueuer()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, auth="on",
                    admin_token=SecretStr(ADMIN_TOKEN), artifact_dir=tmp_path / "artifacts",
                    max_body_bytes=4 * 1024 * 1024, max_artifact_bytes=64 * 1024,
                    lease_seconds=30, max_attempts=2, reconcile_interval_s=0)


@pytest.fixture
def app(settings: Settings, enqueuer: RecordingEnqueuer) -> Iterator[FastAPI]:
    app = create_app(settings, enqueuer)
    yield app
    engine = app.state.db.engine
    with engine.begin() as conn:  # every test starts from empty tables
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False,
                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as c:
        yield c
