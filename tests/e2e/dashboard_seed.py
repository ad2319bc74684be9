"""Loading ``squeezelab local`` results into a live API, acting as a worker over HTTP: submit
the same spec, then claim each run, post its metric points and artifacts, and complete it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

WORKER = "e2e-worker:1"


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.request.url}: "
                           f"{response.status_code} {response.text}")
    return response.json() if response.content else None


def load_results(api: httpx.Client, spec_yaml: str, results: dict[str, Any]) -> dict[str, Any]:
    """Create a sweep from ``spec_yaml`` and replay ``results`` into its runs.

    Returns the created sweep (id, run ids) plus ``runs``: API run id -> local record."""
    _ok(api.post("/api/v1/workers", json={
        "id": WORKER, "hostname": "e2e-host", "queues": ["cpu"], "tasks": ["digits-mlp"],
        "hardware": {"cpu": "test CPU", "threads": 1, "torch": "2.13.0"},
        "version": _ok(api.get("/healthz"))["version"], "torch_version": "2.13.0"}))
    created = _ok(api.post("/api/v1/sweeps", content=spec_yaml,
                           headers={"Content-Type": "application/yaml"}))
    records = {r["name"]: r for r in results["runs"]}
    runs = [_ok(api.get(f"/api/v1/runs/{rid}")) for rid in created["run_ids"]]
    by_id: dict[int, dict[str, Any]] = {}
    # baselines first: a compress run cannot be claimed before its baseline succeeded
    for run in sorted(runs, key=lambda r: (r["kind"] != "baseline", r["id"])):
        record = records[run["name"]]
        by_id[run["id"]] = record
        _replay(api, run["id"], record)
    return {**created, "runs": by_id}


def _replay(api: httpx.Client, run_id: int, record: dict[str, Any]) -> None:
    _ok(api.post(f"/api/v1/runs/{run_id}/claim", json={"worker_id": WORKER}))
    _ok(api.post(f"/api/v1/workers/{WORKER}/heartbeat", json={"current_run_id": run_id}))
    points = [{"key": key, "step": int(step), "value": float(value)}
              for key, curve in record.get("curves", {}).items() for step, value in curve]
    for start in range(0, len(points), 5000):
        _ok(api.post(f"/api/v1/runs/{run_id}/metrics", json={"points": points[start:start + 5000]}))
    for path in record.get("artifacts", [])[:2]:
        file = Path(path)
        if file.is_file() and file.stat().st_size < 5_000_000:
            _ok(api.put(f"/api/v1/runs/{run_id}/artifacts/{file.name}", content=file.read_bytes(),
                        headers={"Content-Type": "application/octet-stream"}))
    if record["status"] == "succeeded":
        _ok(api.post(f"/api/v1/runs/{run_id}/complete",
                     json={"worker_id": WORKER, "summary": record["summary"]}))
    else:
        error = record.get("error") or {"type": "Skipped", "message": ""}
        _ok(api.post(f"/api/v1/runs/{run_id}/fail", json={"worker_id": WORKER, "error": error}))
    _ok(api.post(f"/api/v1/workers/{WORKER}/heartbeat", json={"current_run_id": None}))


def complete_run(api: httpx.Client, run_id: int, summary: dict[str, Any],
                 curves: dict[str, list[tuple[int, float]]] | None = None) -> None:
    """Claim ``run_id`` as the seeding worker, post ``curves`` and complete it with ``summary``."""
    _replay(api, run_id, {"status": "succeeded", "summary": summary, "curves": curves or {}})


def read_results(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data
