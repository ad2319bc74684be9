"""``squeezelab ci``: the commit found in GitHub Actions' and GitLab CI's variables, and the
Markdown summary."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from client.models import Run, Sweep
from squeezelab.ci_cmd import Commit, detect_commit
from squeezelab.ci_summary import markdown_summary, md, passed

pytestmark = pytest.mark.unit
SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


def test_github_actions_push() -> None:
    env = {"GITHUB_SHA": SHA, "GITHUB_REPOSITORY": "octo/models", "GITHUB_REF": "refs/heads/main",
           "GITHUB_EVENT_NAME": "push", "CI_COMMIT_SHA": "ignored"}
    assert detect_commit(env) == Commit("octo/models", "refs/heads/main", SHA, "GitHub Actions")


def test_github_actions_pull_request_uses_the_head_not_the_merge_commit(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"head": {"sha": HEAD}}}))
    env = {"GITHUB_SHA": SHA, "GITHUB_REPOSITORY": "octo/models",
           "GITHUB_REF": "refs/pull/2/merge", "GITHUB_EVENT_NAME": "pull_request",
           "GITHUB_EVENT_PATH": str(event)}
    assert detect_commit(env).sha == HEAD
    # An unreadable event file falls back to GITHUB_SHA.
    assert detect_commit({**env, "GITHUB_EVENT_PATH": str(tmp_path / "gone")}).sha == SHA


@pytest.mark.parametrize("extra, ref", [
    ({"CI_COMMIT_REF_NAME": "main"}, "refs/heads/main"),
    ({"CI_COMMIT_REF_NAME": "v1", "CI_COMMIT_TAG": "v1"}, "refs/tags/v1"),
    ({"CI_COMMIT_REF_NAME": "feature", "CI_MERGE_REQUEST_IID": "7"},
     "refs/merge-requests/7/head"),
    ({}, None),
])
def test_gitlab_ci(extra: dict[str, str], ref: str | None) -> None:
    env = {"CI_COMMIT_SHA": SHA, "CI_PROJECT_PATH": "group/sub/models", **extra}
    assert detect_commit(env) == Commit("group/sub/models", ref, SHA, "GitLab CI")


def test_no_ci_environment() -> None:
    assert detect_commit({"HOME": "/root"}) == Commit()


def _sweep(status: str, gates: dict[str, Any] | None) -> Sweep:
    now = datetime(2026, 11, 24, tzinfo=UTC)
    return Sweep.model_validate({
        "id": 12, "name": "ci-`x`", "task": "digits-mlp", "status": status, "source": "ci",
        "repo": "octo/models", "ref": "refs/heads/main", "sha": SHA, "created_at": now,
        "updated_at": now, "run_count": 2, "counts": {}, "gates": gates})


def _run(run_id: int, name: str, status: str, summary: dict[str, Any] | None) -> Run:
    return Run.model_validate({
        "id": run_id, "sweep_id": 12, "name": name, "variant": name, "kind": "compress",
        "status": status, "seed": 0, "queue": "cpu", "config": {}, "config_hash": "h",
        "baseline_key": "b", "attempt": 1, "summary": summary,
        "created_at": datetime(2026, 11, 24, tzinfo=UTC)})


GATES = {"passed": False, "apply_to": "best", "best": None,
         "description": "failed (min_speedup): closest agp −0.3 pt, 1.1× faster",
         "results": [{"gate": "max_accuracy_drop", "recipe": None, "variant": "agp[s=0.9]",
                      "value": 0.003, "threshold": 0.01, "passed": True},
                     {"gate": "min_speedup", "recipe": None, "variant": "agp[s=0.9]",
                      "value": 1.1, "threshold": 1.5, "passed": False}]}


def test_markdown_summary_of_a_failed_gate() -> None:
    runs = [_run(1, "ci/agp[s=0.9]/seed=0", "succeeded",
                 {"accuracy": 0.967, "accuracy_drop": 0.003, "sparsity": 0.9,
                  "size_bytes": {"stored": 2048}, "latency_ms": {"torch": {"64": {"p50": 0.5}}},
                  "speedup": {"torch": {"64": 1.1}}}),
            _run(2, "ci/a|b/seed=0", "failed", None)]
    sweep = _sweep("succeeded", GATES)
    text = markdown_summary(sweep, runs, "http://sq/sweeps/12")
    lines = text.splitlines()
    assert lines[0] == "### squeezelab: ❌ failed · sweep 12 `ci-'x'` (succeeded)"
    assert "failed (min_speedup): closest agp −0.3 pt, 1.1× faster" in lines
    assert "| max_accuracy_drop | agp[s=0.9] | 0.30 pt | ≤ 1.00 pt | ✅ |" in lines
    assert "| min_speedup | agp[s=0.9] | 1.10× | ≥ 1.50× | ❌ |" in lines
    assert ("| ci/agp[s=0.9]/seed=0 | succeeded | 96.70% | +0.30 | 90.0% | 2.0 KiB | 0.500 "
            "| 1.10× | torch b64 |") in lines
    assert "| ci/a\\|b/seed=0 | failed | – | – | – | – | – | – | – |" in lines
    assert lines[-1] == ("`octo/models` at `6113728f27ae` (`refs/heads/main`) · "
                         "[dashboard](http://sq/sweeps/12)")
    # Every table row has as many cells as its header.
    table = [line for line in lines if line.startswith("| ci/") or line.startswith("| run ")]
    assert {line.replace("\\|", "").count("|") for line in table} == {10}


@pytest.mark.parametrize("status, gates, ok", [
    ("succeeded", {**GATES, "passed": True}, True),
    ("succeeded", {**GATES, "passed": None}, True),
    ("succeeded", None, True),
    ("succeeded", GATES, False),
    ("failed", {**GATES, "passed": True}, False),
    ("cancelled", None, False),
])
def test_verdict(status: str, gates: dict[str, Any] | None, ok: bool) -> None:
    assert passed(_sweep(status, gates)) is ok


def test_md_escapes_what_would_break_a_cell() -> None:
    assert md("a|b *c* `d` <e>\nf\\") == "a\\|b \\*c\\* \\`d\\` \\<e\\> f\\\\"


def test_markdown_rows_show_noise_and_intervals() -> None:
    def summary(speedup: float, lo: float, hi: float) -> dict[str, Any]:
        return {"latency_ms": {"torch": {"64": {"p50": 0.5}}},
                "speedup": {"torch": {"64": speedup}},
                "speedup_interval": {"torch": {"64": {"lo": lo, "hi": hi,
                                                      "noise": lo <= 1.0 <= hi}}}}

    runs = [_run(1, "agp", "succeeded", summary(1.21, 0.97, 1.4)),
            _run(2, "channel", "succeeded", summary(1.83, 1.71, 1.95))]
    lines = markdown_summary(_sweep("succeeded", None), runs, "http://sq").splitlines()
    agp = next(line for line in lines if line.startswith("| agp "))
    channel = next(line for line in lines if line.startswith("| channel "))
    assert "| ≈1.0× (noise) | torch b64 |" in agp and "1.21" not in agp
    assert "| 1.83× (1.71–1.95) | torch b64 |" in channel
