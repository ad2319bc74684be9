"""``logs`` and ``token`` against the real API."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from clirunner import Cli
from fakeworker import FakeWorker, sparsity_of
from liveapi import ADMIN_TOKEN, LiveApi
from test_cli_sweeps import write_spec

from client import Client, MetricPoint
from squeezelab.logs_cmd import follow

pytestmark = pytest.mark.integration


@pytest.fixture
def ended_sweep(cli: Cli, live_api: LiveApi, admin: Client, tmp_path: Path) -> dict[float, int]:
    """A sweep whose 90% run failed after one epoch; run ids by sparsity."""
    worker = FakeWorker(live_api.url, ADMIN_TOKEN, tmp_path,
                        fails=lambda run: sparsity_of(run) == 0.9)
    worker.start()
    try:
        assert cli("submit", str(write_spec(tmp_path)), "--wait",
                   "--interval", "0.05").exit_code == 1
    finally:
        worker.stop()
    return {sparsity_of(r): r.id for r in admin.iter_runs(sweep_id=1)}


def test_logs_of_a_failed_run(cli: Cli, ended_sweep: dict[float, int]) -> None:
    result = cli("logs", str(ended_sweep[0.9]))
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert (f"run {ended_sweep[0.9]} prune[final_sparsity=0.9]@seed0: failed, attempt 1, "
            "worker fake-worker-1") in text
    assert "error: ImpossibleTargetError: cannot reach 90% sparsity" in text
    # run.log, uploaded by the worker, printed as it is
    assert "run prune[final_sparsity=0.9]@seed0 on fake-worker-1\nepoch 1/3 loss 0.2500\n" \
           "giving up: target unreachable\n" in text
    cells = [[c.strip() for c in line.strip("│ ").split("│")] for line in text.splitlines()
             if line.startswith("│ ")]
    assert ["epoch", "4", "1"] in cells and ["train/loss", "3", "0.25"] in cells
    assert ["val/accuracy", "4", "0.9"] in cells and len(cells) == 3


def test_logs_of_a_succeeded_run_name_its_worker(cli: Cli, ended_sweep: dict[float, int]
                                                 ) -> None:
    result = cli("logs", str(ended_sweep[0.5]))
    assert result.exit_code == 0, result.output
    assert "succeeded, attempt 1, worker fake-worker-1" in result.stdout
    assert "epoch 3/3 loss" in result.stdout and "error:" not in result.stdout


def test_follow_prints_changes_epochs_and_new_log_text_until_the_run_ends(
        admin: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    created = admin.submit_sweep(write_spec(tmp_path))
    run = created.baseline_run_ids[0]
    admin.claim_run(run, "w-follow")
    log = tmp_path / "run.log"

    def epoch(n: int, accuracy: float) -> None:
        admin.post_metrics(run, [MetricPoint("epoch", 4 * n, float(n)),
                                 MetricPoint("val/accuracy", 4 * n, accuracy)])
        with log.open("a") as f:
            f.write(f"finished epoch {n}\n")
        admin.upload_artifact(run, log)

    epoch(1, 0.91)
    # Each pause between polls moves the run on, as a worker would.
    steps = [lambda: epoch(2, 0.93), lambda: admin.complete_run(run, "w-follow", {})]
    ended = follow(admin, run, pause=lambda _: steps.pop(0)() if steps else None)
    assert ended.status == "succeeded"
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        f"run {run} baseline@seed0: running, attempt 1, worker w-follow",
        "  epoch 1/2  val/accuracy 0.91",
        "── run.log (17 bytes) ──",
        "finished epoch 1",
        "  epoch 2/2  val/accuracy 0.93",
        "finished epoch 2",  # only what the new upload added
        f"run {run} baseline@seed0: succeeded, attempt 1, worker w-follow"]


def test_follow_exit_codes(cli: Cli, ended_sweep: dict[float, int]) -> None:
    succeeded = cli("logs", str(ended_sweep[0.5]), "--follow")
    assert succeeded.exit_code == 0, succeeded.output
    failed = cli("logs", str(ended_sweep[0.9]), "-f")
    assert failed.exit_code == 1 and "ImpossibleTargetError" in failed.stdout


def test_logs_of_an_unknown_run(cli: Cli) -> None:
    result = cli("logs", "4242")
    assert result.exit_code == 2 and "4242" in result.stderr


def test_token_create_list_revoke(cli: Cli, admin: Client, tmp_path: Path) -> None:
    created = cli("token", "create", "ci-[reader]", "--scope", "read")
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret and "\n" not in secret  # the token alone on stdout
    assert "only time the token is shown" in created.stderr
    (token,) = [t for t in admin.list_tokens() if t.name == "ci-[reader]"]
    # Listed by the start of its hash, never by characters of the secret.
    assert hashlib.sha256(secret.encode()).hexdigest().startswith(token.prefix)
    assert token.prefix not in secret

    assert cli("runs", "1", token=secret).exit_code == 2  # no sweep 1: a 404, not a 401
    refused = cli("submit", str(write_spec(tmp_path)), token=secret)
    assert refused.exit_code == 2 and "403" in refused.stderr
    assert "SQUEEZELAB_TOKEN" in refused.stderr and "scope" in refused.stderr

    listed = cli("token", "list")
    assert listed.exit_code == 0
    row = next(line for line in listed.stdout.splitlines() if "ci-[reader]" in line)
    assert token.prefix in row and "read" in row

    revoked = cli("token", "revoke", str(token.id))
    assert revoked.exit_code == 0 and f"token {token.id} revoked" in revoked.stdout
    after = cli("runs", "1", token=secret)
    assert after.exit_code == 2 and "401" in after.stderr
    assert "SQUEEZELAB_TOKEN" in after.stderr
    assert next(t for t in admin.list_tokens() if t.id == token.id).revoked_at is not None


def test_no_token_is_a_401_that_names_the_variable(cli: Cli) -> None:
    result = cli("status", "1", token="")
    assert result.exit_code == 2
    assert "401" in result.stderr and "SQUEEZELAB_TOKEN" in result.stderr
