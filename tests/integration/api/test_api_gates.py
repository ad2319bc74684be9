"""Gates are evaluated and stored when a sweep ends, and the end is published as an event."""

from __future__ import annotations

from typing import Any

import pytest
from apihelpers import small_spec, submit
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.events import EventBus
from api.models import Sweep
from api.schemas.sweeps import GatesReport
from api.settings import Settings

pytestmark = pytest.mark.integration


class RecordingBus(EventBus):
    """The app's event bus, remembering what was published."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[dict[str, Any]] = []

    def publish(self, sweep_id: int, event: dict[str, Any]) -> None:
        self.published.append({**event, "sweep_id": sweep_id})
        super().publish(sweep_id, event)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"reconcile_interval_s": 0.0})


@pytest.fixture
def bus(app: FastAPI) -> RecordingBus:
    recording = RecordingBus()
    app.state.events = recording  # services get the bus per request (api.deps)
    return recording


def _gated_spec(**gates: Any) -> dict[str, Any]:
    return {**small_spec(seeds=[0, 1]), "gates": gates}


def _summary(drop: float, speedup: float) -> dict[str, Any]:
    return {"accuracy": 0.97 - drop, "baseline_accuracy": 0.97, "accuracy_drop": drop,
            "speedup": {"torch": {"1": speedup, "64": speedup}},
            "size_bytes": {"dense_fp32": 1000, "stored": 400}}


def _run_sweep(client: TestClient, created: dict[str, Any],
               summaries: dict[str, dict[str, Any]]) -> None:
    """Claim and complete every run, baselines first; compress summaries by variant."""
    for run_id in created["run_ids"]:
        run = client.post(f"/api/v1/runs/{run_id}/claim", json={"worker_id": "w"}).json()
        summary = summaries.get(run["variant"], {"accuracy": 0.97})
        done = client.post(f"/api/v1/runs/{run_id}/complete",
                           json={"worker_id": "w", "summary": summary})
        assert done.status_code == 200, done.text


def _stored_gates(app: FastAPI, sweep_id: int) -> dict[str, Any] | None:
    with app.state.db.session() as session:
        sweep = session.get(Sweep, sweep_id)
        assert sweep is not None
        gates: dict[str, Any] | None = sweep.gates
        return gates


def test_gates_are_stored_when_the_sweep_ends(app: FastAPI, client: TestClient,
                                              bus: RecordingBus) -> None:
    created = submit(client, _gated_spec(max_accuracy_drop=0.01, min_speedup=1.2))
    _run_sweep(client, created, {
        "agp[final_sparsity=0.5]": _summary(0.004, 1.0),
        "agp[final_sparsity=0.9]": _summary(0.008, 1.5)})
    assert client.get(f"/api/v1/sweeps/{created['id']}").json()["status"] == "succeeded"
    stored = _stored_gates(app, created["id"])
    assert stored is not None
    report = GatesReport.model_validate(stored)
    assert report.passed is True and report.best is not None
    assert report.best.variant == "agp[final_sparsity=0.9]" and report.best.seeds == 2
    assert report.best.speedup == pytest.approx(1.5)
    assert report.description == "passed: best agp[final_sparsity=0.9] −0.8 pt, 1.5× faster"
    sweep_events = [e for e in bus.published if e["type"] == "sweep"]
    assert sweep_events == [{"type": "sweep", "sweep_id": created["id"], "status": status}
                            for status in ("queued", "succeeded")]


def test_a_failing_gate_is_reported(app: FastAPI, client: TestClient) -> None:
    created = submit(client, _gated_spec(min_speedup=2.0))
    _run_sweep(client, created, {
        "agp[final_sparsity=0.5]": _summary(0.004, 1.0),
        "agp[final_sparsity=0.9]": _summary(0.008, 1.5)})
    stored = _stored_gates(app, created["id"])
    assert stored is not None and stored["passed"] is False
    assert stored["results"] == [{"gate": "min_speedup", "recipe": None, "threshold": 2.0,
                                  "variant": "agp[final_sparsity=0.9]", "value": 1.5,
                                  "passed": False}]


def test_cancelled_sweep_without_results_fails_its_gates(
        app: FastAPI, client: TestClient, bus: RecordingBus) -> None:
    created = submit(client, _gated_spec(max_accuracy_drop=0.01))
    base = created["baseline_run_ids"][0]
    client.post(f"/api/v1/runs/{base}/claim", json={"worker_id": "w"})
    assert client.post(f"/api/v1/sweeps/{created['id']}/cancel").status_code == 200
    stored = _stored_gates(app, created["id"])
    assert stored is not None and stored["passed"] is False and stored["best"] is None
    assert stored["description"] == "failed (max_accuracy_drop): no compressed run succeeded"
    assert {"type": "sweep", "sweep_id": created["id"], "status": "cancelled"} in bus.published


def test_failed_sweep_is_judged_then_retry_clears_the_report(
        app: FastAPI, client: TestClient, bus: RecordingBus) -> None:
    created = submit(client, small_spec(seeds=[0]))  # no gates in the spec
    base = created["baseline_run_ids"][0]
    client.post(f"/api/v1/runs/{base}/claim", json={"worker_id": "w"})
    client.post(f"/api/v1/runs/{base}/fail", json={
        "worker_id": "w", "error": {"type": "RuntimeError", "message": "boom"},
        "retryable": False})
    stored = _stored_gates(app, created["id"])
    assert stored is not None and stored["passed"] is None
    assert stored["description"] == "no gates: no compressed run succeeded"
    assert {"type": "sweep", "sweep_id": created["id"], "status": "failed"} in bus.published
    retried = client.post(f"/api/v1/sweeps/{created['id']}/retry-failed")
    assert retried.status_code == 200
    assert _stored_gates(app, created["id"]) is None
