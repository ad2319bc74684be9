"""``squeezelab ci`` and ``squeezelab trigger`` against the real API, with a worker played
over HTTP and a recording server in place of GitHub's status API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from clirunner import Cli
from fakeworker import FakeWorker
from liveapi import ADMIN_TOKEN, LiveApi, free_port, settings_for
from recorder import StatusRecorder

from client import Client

pytestmark = pytest.mark.integration
SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
REPO = "octo/vision-models"
# Variables of the runner this suite may itself run in: each test says what it wants.
CLEAN_ENV: dict[str, str | None] = {name: None for name in (
    "GITHUB_SHA", "GITHUB_REPOSITORY", "GITHUB_REF", "GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH",
    "GITHUB_STEP_SUMMARY", "CI_COMMIT_SHA", "CI_PROJECT_PATH", "CI_COMMIT_REF_NAME",
    "CI_COMMIT_TAG", "CI_MERGE_REQUEST_IID", "SECRET_FOR_TEST", "STATUS_TOKEN_FOR_TEST")}


@pytest.fixture
def live_api(tmp_path: Path) -> Iterator[LiveApi]:
    settings = settings_for(tmp_path).model_copy(update={
        "status_poll_interval_s": 0.05, "public_url": "https://sq.example.com"})
    server = LiveApi(settings, free_port())
    server.start()
    yield server
    server.stop()


def write_spec(tmp: Path, **gates: Any) -> Path:
    """1 baseline + one_shot at 50% and 90% (fake figures: drop 1.0/1.8 pt, 1.33×/1.82×)."""
    spec = {"name": "ci-check", "task": "digits-mlp", "seeds": [0], "baseline": {"epochs": 1},
            "recipes": [{"name": "prune", "prune": {"granularity": "unstructured"},
                         "schedule": {"kind": "one_shot", "final_sparsity": [0.5, 0.9]},
                         "finetune": {"epochs": 1}}],
            "gates": gates}
    path = tmp / "ci.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def run_ci(cli: Cli, live_api: LiveApi, tmp: Path, spec: Path, env: dict[str, str]) -> Any:
    worker = FakeWorker(live_api.url, ADMIN_TOKEN, tmp)
    worker.start()
    try:
        return cli("ci", str(spec), "--wait", "--interval", "0.05", env={**CLEAN_ENV, **env})
    finally:
        worker.stop()


def test_ci_wait_tags_the_commit_passes_and_writes_the_step_summary(
        cli: Cli, live_api: LiveApi, admin: Client, tmp_path: Path) -> None:
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    with StatusRecorder() as github:
        admin.create_trigger("statuses", "github", REPO, {"name": "x", "task": "digits-mlp"},
                             secret="s" * 32, statuses={"api_base": github.url, "token": "t"})
        result = run_ci(cli, live_api, tmp_path,
                        write_spec(tmp_path, max_accuracy_drop=0.015, min_speedup=1.2),
                        {"GITHUB_SHA": SHA, "GITHUB_REPOSITORY": REPO,
                         "GITHUB_REF": "refs/heads/main", "GITHUB_STEP_SUMMARY": str(summary)})
        assert result.exit_code == 0, result.output
        pending, success = github.wait_for(2, timeout=20)
    (sweep,) = admin.list_sweeps().items
    assert (sweep.source, sweep.repo, sweep.ref, sweep.sha) == ("ci", REPO, "refs/heads/main",
                                                                SHA)
    assert f"for {REPO}@{SHA[:12]} (GitHub Actions): 3 runs" in result.stderr
    assert result.stdout.startswith(f"### squeezelab: ✅ passed · sweep {sweep.id} `ci-check`")
    assert "| max_accuracy_drop | prune[final_sparsity=0.5] | 1.00 pt | ≤ 1.50 pt | ✅ |" in (
        result.stdout)
    assert f"[dashboard]({live_api.url}/sweeps/{sweep.id})" in result.stdout
    assert summary.read_text() == "earlier step\n" + result.stdout
    assert [r.path for r in (pending, success)] == [f"/repos/{REPO}/statuses/{SHA}"] * 2
    assert (pending.body["state"], success.body["state"]) == ("pending", "success")
    assert success.body["target_url"] == f"https://sq.example.com/sweeps/{sweep.id}"


def test_ci_exits_1_when_a_gate_fails(cli: Cli, live_api: LiveApi, admin: Client,
                                      tmp_path: Path) -> None:
    result = run_ci(cli, live_api, tmp_path, write_spec(tmp_path, min_speedup=3.0),
                    {"CI_COMMIT_SHA": SHA, "CI_PROJECT_PATH": "group/vision",
                     "CI_COMMIT_REF_NAME": "main"})
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("### squeezelab: ❌ failed")
    assert "| min_speedup | prune[final_sparsity=0.9] | 1.82× | ≥ 3.00× | ❌ |" in result.stdout
    (sweep,) = admin.list_sweeps().items
    assert (sweep.repo, sweep.ref) == ("group/vision", "refs/heads/main")
    assert admin.list_commit_statuses(sweep_id=sweep.id) == []  # no trigger reports for it


def test_ci_without_wait_prints_the_id_and_flags_override(
        cli: Cli, admin: Client, tmp_path: Path) -> None:
    result = cli("ci", str(write_spec(tmp_path)), "--repo", REPO, "--sha", SHA.upper()[:10],
                 env=CLEAN_ENV)
    assert result.exit_code == 0, result.output
    sweep = admin.get_sweep(int(result.stdout))
    assert (sweep.source, sweep.repo, sweep.sha, sweep.ref) == ("ci", REPO, SHA[:10], None)
    bad = cli("ci", str(write_spec(tmp_path)), "--sha", "not-a-sha", env=CLEAN_ENV)
    assert bad.exit_code == 2 and "not a commit sha" in bad.stderr


def test_ci_fills_in_the_placeholders_of_its_spec(cli: Cli, admin: Client,
                                                  tmp_path: Path) -> None:
    spec = yaml.safe_load(write_spec(tmp_path).read_text())
    spec["name"] = "${repo} ${ref} pr${pr} ${sha}"
    path = tmp_path / "templated.yaml"
    path.write_text(yaml.safe_dump(spec))
    env = {**CLEAN_ENV, "CI_COMMIT_SHA": SHA, "CI_PROJECT_PATH": REPO,
           "CI_MERGE_REQUEST_IID": "42"}
    result = cli("ci", str(path), env=env)
    assert result.exit_code == 0, result.output
    sweep = admin.get_sweep(int(result.stdout))
    assert sweep.name == f"{REPO} refs/merge-requests/42/head pr42 {SHA}"
    # Outside CI nothing is known: the placeholders become "", as in a trigger's template.
    bare = cli("ci", str(path), env=CLEAN_ENV)
    assert bare.exit_code == 0, bare.output
    assert admin.get_sweep(int(bare.stdout)).name == "  pr "


def test_trigger_commands(cli: Cli, admin: Client, tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text("name: ci-${sha}\ntask: digits-mlp\nbaseline: {epochs: 1}\n")
    env = {**CLEAN_ENV, "SECRET_FOR_TEST": "a webhook secret of some length",
           "STATUS_TOKEN_FOR_TEST": "ghp_never-printed"}
    created = cli("trigger", "create", "main", "--provider", "github", "--repo", REPO,
                  "--template", str(template), "-e", "push", "-e", "pull_request", "-b", "main",
                  "--secret-env", "SECRET_FOR_TEST", "--status-token-env",
                  "STATUS_TOKEN_FOR_TEST", env=env)
    assert created.exit_code == 0, created.output
    assert created.stdout == "" and "/api/v1/webhooks/github" in created.stderr
    (trigger,) = admin.list_triggers()
    assert trigger.events == ["push", "pull_request"] and trigger.template["name"] == "ci-${sha}"
    listed = cli("trigger", "list", env=env)
    shown = cli("trigger", "show", str(trigger.id), env=env)
    for output in (listed.output, shown.output):
        assert REPO in output and "never-printed" not in output and "some length" not in output
    assert "has_secret: true" in shown.stdout
    assert cli("trigger", "update", str(trigger.id), "--disable", "--no-statuses",
               env=env).exit_code == 0
    changed = admin.get_trigger(trigger.id)
    assert changed.enabled is False and changed.statuses is None
    generated = cli("trigger", "create", "gen", "--provider", "generic", "--repo", REPO,
                    "--template", str(template), env=env)
    assert generated.exit_code == 0 and generated.stdout.startswith("whsec_")
    missing = cli("trigger", "create", "x", "--provider", "github", "--repo", REPO,
                  "--template", str(template), "--secret-env", "UNSET_VARIABLE", env=env)
    assert missing.exit_code == 2 and "UNSET_VARIABLE is not set" in missing.stderr
    assert cli("trigger", "delete", str(trigger.id), env=env).exit_code == 0
    assert [t.name for t in admin.list_triggers()] == ["gen"]
    assert "webhook deliveries" in cli("trigger", "deliveries", env=env).stdout
