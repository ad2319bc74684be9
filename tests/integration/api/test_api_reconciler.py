"""The reconciler loop lives with the app: started by its lifespan, stopped at shutdown."""

from __future__ import annotations

import pytest
from apihelpers import ADMIN_TOKEN, RecordingEnqueuer, small_spec, submit
from fastapi import FastAPI
from fastapi.testclient import TestClient
from polling import wait_for

from api.app import create_app
from api.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Leases that expire almost at once, and a loop that looks every 50 ms.
    return settings.model_copy(update={"reconcile_interval_s": 0.05, "lease_seconds": 0.3})


def test_loop_requeues_a_dead_workers_run_and_stops_with_the_app(
        app: FastAPI, enqueuer: RecordingEnqueuer) -> None:
    assert not app.state.reconciler.running
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
        assert app.state.reconciler.running
        base = submit(client, small_spec(seeds=[0]))["baseline_run_ids"][0]
        assert enqueuer.run_ids == [base]
        claim = client.post(f"/api/v1/runs/{base}/claim", json={"worker_id": "w"})
        assert claim.status_code == 200
        # the worker never renews its lease: the loop must requeue and re-send the run
        wait_for(lambda: enqueuer.run_ids == [base, base], timeout=10,
                 what="the reconciler to re-send the run")
        run = client.get(f"/api/v1/runs/{base}").json()
        assert run["status"] == "queued" and run["error"]["type"] == "LeaseExpired"
    assert not app.state.reconciler.running  # the app's shutdown stopped it


def test_interval_zero_runs_no_loop(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"reconcile_interval_s": 0.0}))
    with TestClient(app):
        assert not app.state.reconciler.running
    app.state.db.dispose()
