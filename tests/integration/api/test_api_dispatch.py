"""Dispatch through a real Celery producer on the real Redis: submit sends, an expired
lease is sent again, and the reconciler re-sends what a wiped broker lost.

Each test keeps its Redis keys under its own ``global_keyprefix`` and deletes them after,
so the shared Redis (and anyone's workers on it) is never touched.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from apihelpers import small_spec, submit
from fastapi import FastAPI
from fastapi.testclient import TestClient
from kombu.connection import Connection
from kombu.entity import Queue
from sqlalchemy import select

from api.app import create_app
from api.events import EventBus
from api.models import Base, Run
from api.producer import TASK_NAME, CeleryProducer
from api.reconciler import Reconciler
from api.services.context import Effects
from api.settings import Settings

pytestmark = pytest.mark.integration
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.skip(f"Redis unavailable at {REDIS_URL}: {exc}")
    key_prefix = f"squeezelab-test-{uuid.uuid4().hex[:12]}:"
    yield key_prefix
    _wipe(key_prefix)
    client.close()


def _wipe(key_prefix: str) -> None:
    """Delete this test's keys: the broker losing its data, without FLUSHALL."""
    with redis.Redis.from_url(REDIS_URL) as client:
        for key in client.scan_iter(f"{key_prefix}*"):
            client.delete(key)


@pytest.fixture
def enqueuer(prefix: str) -> Iterator[CeleryProducer]:
    """Replaces conftest's recording enqueuer: the app sends to Redis for real."""
    producer = CeleryProducer(REDIS_URL, {"global_keyprefix": prefix})
    yield producer
    producer.close()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The tests call the reconciler themselves, at chosen times: no background loop.
    return settings.model_copy(update={"reconcile_interval_s": 0.0})


def _drain(prefix: str, limit: int | None = None,
           queue: str = "cpu") -> list[tuple[str, list[Any]]]:
    """Take the waiting messages (``limit`` at most) off ``queue``: (task name, args),
    oldest first. Every message was published before this is called: no waiting."""
    taken: list[tuple[str, list[Any]]] = []
    with Connection(REDIS_URL, transport_options={"global_keyprefix": prefix}) as conn:
        simple = conn.SimpleQueue(Queue(queue, routing_key=queue, no_declare=True))
        try:
            while limit is None or len(taken) < limit:
                try:
                    message = simple.get(block=False)
                except simple.Empty:
                    return taken
                args, _kwargs, _embed = message.payload
                taken.append((message.headers["task"], list(args)))
                message.ack()
            return taken
        finally:
            simple.close()


def _runs(app: FastAPI, ids: list[int]) -> dict[int, Run]:
    with app.state.db.session() as session:
        return {run.id: run for run in session.scalars(select(Run).where(Run.id.in_(ids)))}


def test_submit_sends_each_baseline_by_task_name(
        app: FastAPI, client: TestClient, prefix: str, enqueuer: CeleryProducer) -> None:
    created = submit(client, small_spec(seeds=[0, 1]))
    baselines = created["baseline_run_ids"]
    assert enqueuer.queue_depth("cpu") == 2
    assert _drain(prefix) == [(TASK_NAME, [run_id]) for run_id in baselines]
    assert enqueuer.queue_depth("cpu") == 0
    runs = _runs(app, created["run_ids"])
    assert all(runs[rid].enqueued_at is not None for rid in baselines)
    # compress runs wait for their baseline: not sent, not stamped
    assert all(runs[rid].enqueued_at is None for rid in created["run_ids"][2:])


def test_expired_lease_is_sent_again(app: FastAPI, client: TestClient, prefix: str,
                                     settings: Settings) -> None:
    base = submit(client, small_spec(seeds=[0]))["baseline_run_ids"][0]
    assert _drain(prefix) == [(TASK_NAME, [base])]
    claim = client.post(f"/api/v1/runs/{base}/claim", json={"worker_id": "dead-worker"})
    assert claim.status_code == 200
    reconciler: Reconciler = app.state.reconciler
    assert reconciler.tick().expired == []  # the lease is still valid
    after_lease = datetime.now(UTC) + timedelta(seconds=settings.lease_seconds + 1)
    done = reconciler.tick(after_lease)
    assert done.expired == [base] and done.resent == []
    assert _drain(prefix) == [(TASK_NAME, [base])]
    run = client.get(f"/api/v1/runs/{base}").json()
    assert run["status"] == "queued" and run["error"]["type"] == "LeaseExpired"
    # the next worker claims it as its second attempt
    again = client.post(f"/api/v1/runs/{base}/claim", json={"worker_id": "w2"}).json()
    assert again["attempt"] == 2


def test_reconciler_resends_what_a_wiped_broker_lost(
        app: FastAPI, client: TestClient, prefix: str, settings: Settings) -> None:
    created = submit(client, small_spec(seeds=[0, 1]))
    baselines = created["baseline_run_ids"]
    _wipe(prefix)
    reconciler: Reconciler = app.state.reconciler
    # Just sent: a worker may have taken the messages and be about to claim them.
    assert reconciler.tick().resent == []
    later = datetime.now(UTC) + timedelta(seconds=settings.requeue_after_s + 1)
    assert reconciler.tick(later).resent == baselines
    # Back in the queue, they are not sent again, however long they wait there.
    much_later = later + timedelta(seconds=settings.requeue_after_s + 1)
    assert reconciler.tick(much_later).resent == []
    assert _drain(prefix) == [(TASK_NAME, [run_id]) for run_id in baselines]


def test_only_the_missing_message_is_resent(app: FastAPI, client: TestClient, prefix: str,
                                            settings: Settings) -> None:
    baselines = submit(client, small_spec(seeds=[0, 1]))["baseline_run_ids"]
    # The first message is lost (taken, never claimed); the broker still holds the second.
    assert _drain(prefix, limit=1) == [(TASK_NAME, [baselines[0]])]
    reconciler: Reconciler = app.state.reconciler
    later = datetime.now(UTC) + timedelta(seconds=settings.requeue_after_s + 1)
    assert reconciler.tick(later).resent == [baselines[0]]
    assert reconciler.tick(later).resent == []
    assert _drain(prefix) == [(TASK_NAME, [baselines[1]]), (TASK_NAME, [baselines[0]])]


def test_runs_the_broker_refused_are_sent_by_the_reconciler(
        settings: Settings, prefix: str) -> None:
    dead = CeleryProducer("redis://127.0.0.1:1/0")  # nothing listens on port 1
    app = create_app(settings, dead)
    with TestClient(app, headers=_admin(settings)) as client:
        created = submit(client, small_spec(seeds=[0, 1]))
    baselines = created["baseline_run_ids"]
    assert all(run.enqueued_at is None for run in _runs(app, baselines).values())
    live = CeleryProducer(REDIS_URL, {"global_keyprefix": prefix})
    try:
        fixer = Reconciler(app.state.db, Effects(settings, live, EventBus()), 0)
        assert fixer.tick().resent == baselines  # never sent: no need to wait
        assert _drain(prefix) == [(TASK_NAME, [run_id]) for run_id in baselines]
        assert fixer.tick().resent == []
    finally:
        live.close()
        dead.close()
        _empty_tables(app)


def test_embedded_broker_receives_and_counts(tmp_path: Path) -> None:
    """The server-less SQLAlchemy transport of embedded mode works the same way."""
    url = f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    producer = CeleryProducer(url)
    try:
        assert producer.queue_depth("cpu") == 0
        producer.enqueue(7, "cpu")
        producer.enqueue(8, "gpu")
        assert (producer.queue_depth("cpu"), producer.queue_depth("gpu")) == (1, 1)
        with Connection(url) as conn:
            simple = conn.SimpleQueue(Queue("gpu", routing_key="gpu", no_declare=True))
            message = simple.get(block=False)
            assert message.headers["task"] == TASK_NAME and message.payload[0] == [8]
            message.ack()
            simple.close()
        assert producer.queue_depth("gpu") == 0
    finally:
        producer.close()


def test_create_app_builds_the_producer_from_settings(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"broker_url": REDIS_URL}))
    assert isinstance(app.state.enqueuer, CeleryProducer)
    app.state.db.dispose()


def _admin(settings: Settings) -> dict[str, str]:
    assert settings.admin_token is not None
    return {"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"}


def _empty_tables(app: FastAPI) -> None:
    with app.state.db.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    app.state.db.dispose()
