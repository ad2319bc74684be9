"""Settings of the API process, read from ``SQUEEZELAB_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from compression.spec.limits import DEFAULT_MAX_RUNS


class Settings(BaseSettings):
    """Everything the API process is configured with; injected, never read at import time."""

    model_config = SettingsConfigDict(env_prefix="SQUEEZELAB_", extra="ignore")

    database_url: str = "sqlite:///.squeezelab/squeezelab.db"
    # "off" only for local embedded use: every request then acts as an admin.
    auth: Literal["on", "off"] = "on"
    # When set, this token is stored (hashed) as an admin token at startup.
    admin_token: SecretStr | None = None
    # "token": /metrics needs a token with the metrics scope (read and above have it);
    # "public": anyone who reaches the port may scrape it.
    metrics_auth: Literal["token", "public"] = "token"
    # Seconds between re-checks of an open SSE stream's token: revoked, the stream ends.
    stream_recheck_s: float = Field(default=15.0, gt=0)
    artifact_dir: Path = Path(".squeezelab/artifacts")
    max_body_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    max_artifact_bytes: int = Field(default=2 * 1024 * 1024 * 1024, gt=0)
    # Runs one sweep may expand to: a larger spec is refused (422) before it is expanded.
    max_runs: int = Field(default=DEFAULT_MAX_RUNS, gt=0)
    # libpq's minimum is 2 s; bounds how long a request waits while PostgreSQL is down.
    db_connect_timeout_s: int = Field(default=5, ge=2, le=60)
    # PostgreSQL connections kept open. The API runs about this many requests at once (each
    # holds at most one connection); the rest wait (below) or get 503 with Retry-After. One
    # process runs Python on about one core: 8 keep it busy while some wait on the database,
    # and more only make the threads fight for the GIL (docs/benchmarks.md#overload).
    db_pool_size: int = Field(default=8, ge=1, le=500)
    # Extra connections for background work: the reconciler, the notifier, /readyz.
    db_max_overflow: int = Field(default=10, ge=0, le=500)
    # The longest wait for a pooled connection before the request gets 503.
    db_pool_timeout_s: float = Field(default=5.0, gt=0, le=60)
    # The server cancels a longer statement; a statement whose answer does not come back
    # at all (a frozen network path) is abandoned 1 s later, and the request gets 503.
    db_statement_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    # Overload: requests beyond db_pool_size wait in line, at most this many, each at most
    # max_wait_s; a request that finds the line full, or waits longer, gets 503 at once.
    max_waiting_requests: int = Field(default=200, ge=0, le=100_000)
    max_wait_s: float = Field(default=2.0, ge=0, le=60)
    # /readyz answers 503 when the database takes longer than this to answer SELECT 1.
    ready_timeout_s: float = Field(default=2.0, gt=0, le=60)
    lease_seconds: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    # None keeps runs queued in the database (no dispatch); e.g. redis://127.0.0.1:6379/0,
    # or sqla+sqlite:///.squeezelab/broker.db for the embedded, server-less broker.
    broker_url: str | None = None
    # Seconds between reconciler ticks (expired leases, lost messages); 0 disables it.
    reconcile_interval_s: float = Field(default=5.0, ge=0)
    # How long a sent, still-queued run waits before the reconciler may count its message
    # as lost. A worker claims a run within milliseconds of receiving it, or a few seconds
    # when the API blips and the SDK retries, so 60 s never mistakes a claim in flight for
    # a loss, and a wiped broker costs each waiting run about a minute, not a whole sweep.
    requeue_after_s: float = Field(default=60.0, ge=0)
    # Where people reach the dashboard: commit statuses link to {public_url}/sweeps/{id}.
    public_url: str = "http://127.0.0.1:8000"
    # The generic webhook refuses a signed timestamp further than this from the clock.
    webhook_tolerance_s: float = Field(default=300.0, gt=0)
    # Commit statuses (api.notifier): seconds between outbox polls (0 disables sending),
    # the first retry delay (doubling each attempt), attempts in all, and per-request timeout.
    status_poll_interval_s: float = Field(default=1.0, ge=0)
    status_retry_base_s: float = Field(default=2.0, gt=0)
    status_max_attempts: int = Field(default=8, ge=1)
    status_timeout_s: float = Field(default=10.0, gt=0)


@lru_cache
def get_settings() -> Settings:
    """The process's settings, built once from the environment."""
    return Settings()
