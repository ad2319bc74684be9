"""The SDK against the real API (uvicorn on 127.0.0.1, SQLite, auth on)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from liveapi import LiveApi

from client import AuthError, Client, ConflictError, MetricPoint, NotFoundError, ValidationError

pytestmark = pytest.mark.integration


def small_spec(name: str = "small") -> dict[str, Any]:
    """2 seeds x (1 baseline + 2 AGP sparsities): 2 baselines, 4 compress runs."""
    return {"name": name, "task": "digits-mlp", "seeds": [0, 1], "baseline": {"epochs": 2},
            "recipes": [{"name": "agp", "prune": {"granularity": "unstructured"},
                         "schedule": {"kind": "agp", "final_sparsity": [0.5, 0.9],
                                      "end_epoch": 2},
                         "finetune": {"epochs": 3}}]}


def test_submit_claim_heartbeat_metrics_artifacts_complete(admin: Client,
                                                           tmp_path: Path) -> None:
    plan = admin.plan_sweep(yaml.safe_dump(small_spec()))
    assert (plan.run_count, plan.baseline_count) == (6, 2)
    assert admin.list_sweeps().items == []  # a dry run stores nothing
    created = admin.submit_sweep(small_spec())
    assert len(created.run_ids) == 6 and created.status == "queued"
    sweep = admin.get_sweep(created.id)
    assert sweep.counts == {"queued": 6} and sweep.spec is not None

    run_id = created.baseline_run_ids[0]
    worker = admin.register_worker("w1", "box", ["cpu"], tasks=["digits-mlp"],
                                   version="0.1.0", torch_version="2.13.0")
    assert worker.alive and worker.queues == ["cpu"]
    assert (worker.version, worker.torch_version) == ("0.1.0", "2.13.0")
    run = admin.claim_run(run_id, "w1")
    assert run.status == "running" and run.lease_owner == "w1" and run.attempt == 1
    with pytest.raises(ConflictError):
        admin.claim_run(run_id, "w2")
    assert admin.heartbeat_run(run_id, "w1").cancel is False
    assert admin.heartbeat_worker("w1", run_id).current_run_id == run_id

    points = [MetricPoint("train/loss", s, 1.0 / (s + 1)) for s in range(25_000)]
    assert admin.post_metrics(run_id, points).inserted == 25_000  # three requests
    assert admin.post_metrics(run_id, points[:10]).inserted == 0  # idempotent
    series = admin.get_series(run_id, "train/loss", buckets=100)
    assert series.total_points == 25_000 and len(series.buckets) <= 100
    window = admin.get_series(run_id, "train/loss", buckets=100, step_min=100, step_max=199)
    assert [(b.step_min, b.step_max) for b in window.buckets] == [(s, s) for s in range(100, 200)]
    assert admin.metric_keys(run_id) == ["train/loss"]

    weights = tmp_path / "model.safetensors"
    weights.write_bytes(bytes(range(256)) * 100)
    artifact = admin.upload_artifact(run_id, weights)
    assert artifact.sha256 == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert [a.name for a in admin.list_artifacts(run_id)] == ["model.safetensors"]
    copy = admin.download_artifact(run_id, "model.safetensors", tmp_path / "out" / "m.st")
    assert copy.read_bytes() == weights.read_bytes()

    done = admin.complete_run(run_id, "w1", {"accuracy": 0.97, "sparsity": 0.0})
    summary = admin.get_run(run_id).summary
    assert done.status == "succeeded" and summary is not None
    assert summary.to_json() == {"accuracy": 0.97, "sparsity": 0.0}
    assert {r.id for r in admin.iter_runs(sweep_id=created.id, page_size=4)} == set(
        created.run_ids)


def test_fail_retry_cancel_pareto_delete(admin: Client) -> None:
    created = admin.submit_sweep(small_spec("second"), source="cli")
    base = created.baseline_run_ids[1]
    admin.claim_run(base, "w1")
    failed = admin.fail_run(base, "w1", "ImpossibleTargetError", "cannot reach 99%")
    assert failed.status == "failed" and failed.error is not None
    assert base in admin.retry_failed(created.id).requeued_run_ids  # with its dependents
    assert admin.cancel_run(base).status == "cancelled"
    assert admin.pareto(created.id).sweep_id == created.id
    assert admin.cancel_sweep(created.id).status == "cancelled"
    with pytest.raises(ConflictError):
        admin.cancel_sweep(created.id)
    admin.delete_sweep(created.id)
    with pytest.raises(NotFoundError) as err:
        admin.get_sweep(created.id)
    assert err.value.status == 404 and err.value.request_id


def test_pagination_iterates_every_sweep(admin: Client) -> None:
    ids = {admin.submit_sweep(small_spec(f"s{i}")).id for i in range(5)}
    first = admin.list_sweeps(limit=2)
    assert len(first.items) == 2 and first.next_cursor
    assert {s.id for s in admin.iter_sweeps(page_size=2)} == ids
    assert [s.name for s in admin.iter_sweeps(name="s3")] == ["s3"]


def test_invalid_spec_is_a_typed_error_with_pointers(admin: Client, tmp_path: Path) -> None:
    spec = small_spec()
    spec["recipes"][0]["schedule"]["final_sparsity"] = [0.5, 1.5]
    spec["seeds"] = "zero"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(ValidationError) as err:
        admin.submit_sweep(path)
    pointers = {e.pointer for e in err.value.errors}
    assert "/recipes/0/schedule/final_sparsity/1" in pointers and "/seeds" in pointers
    assert err.value.status == 422 and err.value.title == "Invalid sweep spec"
    assert admin.list_sweeps().items == []


def test_tokens_and_auth_errors(admin: Client, live_api: LiveApi) -> None:
    created = admin.create_token("reader", ["read"])
    assert created.token and created.scopes == ["read"]
    assert created.id in {t.id for t in admin.list_tokens()}
    with Client(live_api.url, created.token, retries=0) as reader:
        assert reader.list_sweeps().items == []
        with pytest.raises(AuthError) as err:
            reader.submit_sweep(small_spec())
        assert err.value.status == 403
    admin.revoke_token(created.id)
    with Client(live_api.url, created.token, retries=0) as revoked, \
            pytest.raises(AuthError) as err:
        revoked.list_sweeps()
    assert err.value.status == 401
    with Client(live_api.url, None, retries=0) as anonymous, pytest.raises(AuthError):
        anonymous.get_sweep(1)
