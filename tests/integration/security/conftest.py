"""Fixtures of the security tests: the API on a fresh PostgreSQL database, the backend that
refuses what SQLite would store (NUL characters, Infinity in JSON, integers wider than a
column), so a value the API lets through shows up as a 500 here. The database is migrated
with Alembic and dropped afterwards; every test starts from empty tables."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from liveapi import migrate
from pydantic import SecretStr
from securityhelpers import ADMIN_TOKEN, serving
from sqlalchemy.exc import OperationalError
from stack import PG_ADMIN_URL, fresh_postgres

from api.settings import Settings


@pytest.fixture(scope="session")
def security_database() -> Iterator[str]:
    with contextlib.ExitStack() as cleanup:
        try:
            url = cleanup.enter_context(fresh_postgres("squeezelab_security"))
        except OperationalError as exc:
            pytest.skip(f"PostgreSQL unavailable at {PG_ADMIN_URL}: {exc}")
        migrate(url)
        yield url


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
