"""Settings of a worker process, read from ``SQUEEZELAB_*`` environment variables.

A worker needs the broker, the API's URL and a token with the ``worker`` scope: never
database credentials (it talks to the API over HTTP only).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED_BROKER = "sqla+sqlite:///.squeezelab/broker.sqlite"


class WorkerSettings(BaseSettings):
    """Everything a worker is configured with; built once by the process and passed down."""

    model_config = SettingsConfigDict(env_prefix="SQUEEZELAB_", extra="ignore")

    broker_url: str = EMBEDDED_BROKER
    api_url: str = "http://127.0.0.1:8000"
    token: SecretStr | None = None
    # Scratch space: run directories, downloaded baselines, spilled metric segments.
    worker_dir: Path = Path(".squeezelab/worker")
    # Redis re-delivers an unacknowledged message after this long; it must exceed the longest
    # run, or a healthy long run would be delivered twice (the claim refuses the second).
    visibility_timeout_s: int = Field(default=12 * 3600, ge=60)
    # How often a running task renews its lease; the API's lease lasts several of these.
    lease_renew_s: float = Field(default=5.0, gt=0)
    worker_heartbeat_s: float = Field(default=15.0, gt=0)
    # How long a finished run keeps retrying its last calls (metrics, artifacts, summary)
    # through an API outage before it leaves the run to the reconciler.
    delivery_deadline_s: float = Field(default=600.0, gt=0)
    # Threads torch trains with in each of the worker's processes. Unset: the CPUs this
    # worker may use divided by its concurrency, so that N processes do not oversubscribe
    # the cores (latency is measured with the spec's own `threads` either way).
    torch_threads: int | None = Field(default=None, ge=1, le=1024)
