"""The regex audit of issue 14 (item 7), outside the API's routes: Python's ``re`` lets
``$`` match before a trailing newline and ``\\d`` match any script's digits, and
``str.isdigit`` is true of "²", which ``int`` refuses. Each check here matches whole values
of ASCII digits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from fresh_loop import run_in_fresh_loop
from starlette.types import Message, Receive, Scope, Send
from typer.testing import CliRunner

from api.middleware import RequestContextMiddleware, RequestMetrics
from api.services.gates import RunOutcome, variant_figures
from client.spill import SpillDir
from compression.spec.metrics import builtin_goal, is_fraction, top_k
from compression.spec.template import pull_request_of
from squeezelab import ci_cmd
from workers.gpus import parse_gpus

pytestmark = pytest.mark.unit


def test_metric_names_match_whole() -> None:
    assert top_k("top5_accuracy") == 5 and top_k("top5_accuracy\n") is None
    assert builtin_goal("top5_accuracy\n") is None
    assert is_fraction("val_accuracy") and not is_fraction("val_accuracy\n")


def test_pull_request_numbers_are_ascii_digits() -> None:
    assert pull_request_of("refs/pull/12/head") == "12"
    assert pull_request_of("refs/pull/١٢/head") is None


def test_gpu_lists_are_ascii_digits() -> None:
    assert parse_gpus("0,1") == [0, 1]
    with pytest.raises(ValueError):
        parse_gpus("0,١")


def test_a_spill_segment_name_matches_whole(tmp_path: Path) -> None:
    (tmp_path / "seg-000000000007.jsonl\n").write_text("")
    (tmp_path / "seg-000000000002.jsonl").write_text("")
    spill = SpillDir(tmp_path)
    assert [p.name for p in spill.segments()] == ["seg-000000000002.jsonl"]
    assert spill.write([]).name == "seg-000000000003.jsonl"


def test_a_speedup_batch_of_unicode_digits_is_not_a_batch_size() -> None:
    summary = {"accuracy": 0.9, "baseline_accuracy": 0.9, "accuracy_drop": 0.0,
               "speedup": {"torch": {"²": 9.0, "64": 1.5}}}
    (figures,) = variant_figures([RunOutcome(1, "agp", summary)])
    assert (figures.speedup, figures.speedup_batch) == (1.5, 64)


def test_ci_refuses_a_sha_with_a_trailing_newline(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_SHA", "GITHUB_REPOSITORY", "CI_COMMIT_SHA", "CI_PROJECT_PATH"):
        monkeypatch.delenv(name, raising=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: x\ntask: digits-mlp\n")
    app = typer.Typer()
    app.command()(ci_cmd.ci)
    result = CliRunner().invoke(app, [str(spec), "--sha", "abcdef1\n", "--repo", "o/r"])
    assert result.exit_code == 2 and "is not a commit sha" in result.output


def _call(headers: list[tuple[bytes, bytes]]) -> tuple[list[Message], dict[str, Any]]:
    """One request through the middleware to an app that answers 204 with its request id."""
    sent: list[Message] = []
    seen: dict[str, Any] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen["request_id"] = scope["state"]["request_id"]
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = RequestContextMiddleware(app, lambda _: 100, RequestMetrics())
    scope = {"type": "http", "method": "POST", "path": "/x", "headers": headers,
             "query_string": b""}
    run_in_fresh_loop(middleware(scope, receive, send))
    return sent, seen


def test_a_request_id_matches_whole_and_a_length_is_ascii_digits() -> None:
    _, seen = _call([(b"x-request-id", b"abc\n")])
    assert seen["request_id"] != "abc\n" and len(seen["request_id"]) == 32
    _, seen = _call([(b"x-request-id", b"abc-1")])
    assert seen["request_id"] == "abc-1"
    sent, _ = _call([(b"content-length", "²".encode("latin-1"))])
    assert sent[0]["status"] == 204  # not an uncaught ValueError
    sent, _ = _call([(b"content-length", b"101")])
    assert sent[0]["status"] == 413
