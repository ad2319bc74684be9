"""The count of a sweep's unfinished runs (sweeps.runs_unfinished): kept by every
transition that ends or requeues runs, so a run's end learns whether it was the last one
with one UPDATE, and the sweep ends exactly once when two last runs end at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from apihelpers import RecordingEnqueuer, claim, complete, small_spec, submit
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.orm import Session

from api.events import EventBus
from api.migrate import alembic_config
from api.models import Run, Sweep
from api.services import runs as run_service
from api.services.context import Effects
from api.settings import Settings

pytestmark = pytest.mark.integration
SUMMARY = {"accuracy": 0.95, "sparsity": 0.5}
ERROR = {"type": "ImpossibleTargetError", "message": "no"}


def _counter(app: FastAPI, sweep_id: int) -> int:
    """The stored counter, after checking it against a count of the runs."""
    with app.state.db.session() as session:
        stored = session.scalar(select(Sweep.runs_unfinished).where(Sweep.id == sweep_id))
        counted = session.scalar(select(func.count()).where(
            Run.sweep_id == sweep_id, Run.status.in_(("queued", "running"))))
    assert stored == counted
    return int(counted or 0)


def _status(client: TestClient, sweep_id: int) -> str:
    status: str = client.get(f"/api/v1/sweeps/{sweep_id}").json()["status"]
    return status


def _fail(client: TestClient, run_id: int, retryable: bool = False) -> Any:
    return client.post(f"/api/v1/runs/{run_id}/fail",
                       json={"worker_id": "w1", "error": ERROR, "retryable": retryable})


def test_every_transition_keeps_the_count(app: FastAPI, client: TestClient,
                                          settings: Settings,
                                          enqueuer: RecordingEnqueuer) -> None:
    created = submit(client, small_spec(seeds=[0, 1]))  # 2 baselines, 2 compress runs each
    sid, (b0, b1) = created["id"], created["baseline_run_ids"]
    runs = client.get("/api/v1/runs", params={"sweep_id": sid, "kind": "compress"}).json()
    follows = {r["id"]: r["depends_on_id"] for r in runs["items"]}
    c0, c1 = sorted(r for r, b in follows.items() if b == b0)
    c2, c3 = sorted(r for r, b in follows.items() if b == b1)
    assert _counter(app, sid) == 6
    claim(client, b0)
    assert _fail(client, b0, retryable=True).json()["status"] == "queued"
    assert _counter(app, sid) == 6  # requeued: still unfinished
    claim(client, b0)
    complete(client, b0, {"accuracy": 0.97})
    assert _counter(app, sid) == 5
    client.post(f"/api/v1/runs/{c0}/cancel")
    assert _counter(app, sid) == 4
    claim(client, b1)
    _fail(client, b1)  # ends its two dependents with it
    assert _counter(app, sid) == 1
    claim(client, c1)
    with app.state.db.session() as session:  # the reaper, after the last attempt
        fx = Effects(settings.model_copy(update={"max_attempts": 1}), enqueuer,
                     app.state.events)
        later = datetime.now(UTC) + timedelta(hours=1)
        assert run_service.expire_leases(session, fx, later) == [c1]
    assert _counter(app, sid) == 0 and _status(client, sid) == "failed"
    retried = client.post(f"/api/v1/sweeps/{sid}/retry-failed").json()
    assert sorted(retried["requeued_run_ids"]) == sorted([b1, c1, c2, c3])
    assert _counter(app, sid) == 4 and _status(client, sid) == "running"
    claim(client, b1)
    client.post(f"/api/v1/sweeps/{sid}/cancel")
    assert _counter(app, sid) == 0 and _status(client, sid) == "cancelled"


def test_a_run_that_is_not_the_last_does_not_count_the_runs(
        app: FastAPI, client: TestClient) -> None:
    created = submit(client, small_spec(seeds=[0]))
    base, first, last = created["run_ids"]
    claim(client, base)
    complete(client, base, {"accuracy": 0.97})
    claim(client, first)
    claim(client, last)
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(app.state.db.engine, "before_cursor_execute", record)
    try:
        assert complete(client, first, SUMMARY).status_code == 200
        not_last = [s for s in seen if "count(" in s]
        seen.clear()
        assert complete(client, last, SUMMARY).status_code == 200
        last_one = [s for s in seen if "count(" in s]
    finally:
        event.remove(app.state.db.engine, "before_cursor_execute", record)
    assert not_last == []
    assert last_one and _status(client, created["id"]) == "succeeded"


class RecordingBus(EventBus):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    def publish(self, sweep_id: int | None, event: dict[str, Any]) -> None:
        self.events.append(event)


def test_two_last_runs_ending_at_once_end_the_sweep_once(
        app: FastAPI, client: TestClient, settings: Settings, enqueuer: RecordingEnqueuer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    if app.state.db.dialect != "postgresql":
        pytest.skip("SQLite runs one writing transaction at a time")
    created = submit(client, small_spec(seeds=[0]))
    base, *last_two = created["run_ids"]
    claim(client, base)
    complete(client, base, {"accuracy": 0.97})
    for run_id in last_two:
        claim(client, run_id)
    # Both have ended their run (and hold its row) before either counts it off the sweep.
    both_updated = threading.Barrier(2, timeout=20)
    counted = run_service.runs_ended

    def at_once(session: Session, sweep_id: int, n: int) -> str | None:
        both_updated.wait()
        return counted(session, sweep_id, n)

    monkeypatch.setattr(run_service, "runs_ended", at_once)
    bus = RecordingBus()
    fx = Effects(settings, enqueuer, bus)

    def end(run_id: int) -> str:
        with app.state.db.session() as session:
            return run_service.complete(session, fx, run_id, "w1", SUMMARY).status

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(end, last_two)) == ["succeeded", "succeeded"]
    ended = [e for e in bus.events if e["type"] == "sweep"]
    assert ended == [{"type": "sweep", "sweep_id": created["id"], "status": "succeeded"}]
    assert _counter(app, created["id"]) == 0 and _status(client, created["id"]) == "succeeded"


def test_the_migration_counts_the_runs_of_existing_sweeps(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "0007_run_lease_token")
    engine = create_engine(url)
    with engine.begin() as conn:
        runs = {1: ["succeeded", "running", "queued", "queued"], 2: ["succeeded", "failed"],
                3: []}
        conn.execute(text(
            "INSERT INTO sweeps (id, name, task, status, source, spec, created_at, "
            "updated_at) VALUES (:id, 's', 't', 'running', 'api', '{}', :now, :now)"),
            [{"id": sweep_id, "now": datetime.now(UTC)} for sweep_id in runs])
        conn.execute(text(
            "INSERT INTO runs (sweep_id, name, variant, kind, status, seed, queue, config, "
            "config_hash, baseline_key, attempt, cancel_requested, created_at) VALUES "
            "(:sweep, 'r', 'v', 'baseline', :status, 0, 'cpu', '{}', 'h', 'k', 0, false, "
            ":now)"), [{"sweep": sweep_id, "status": status, "now": datetime.now(UTC)}
                       for sweep_id, statuses in runs.items() for status in statuses])
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        counts = dict(conn.execute(text("SELECT id, runs_unfinished FROM sweeps")).all())
    assert counts == {1: 3, 2: 0, 3: 0}
    command.downgrade(cfg, "0006")  # and back: both revisions undo cleanly
    command.upgrade(cfg, "head")
    engine.dispose()
