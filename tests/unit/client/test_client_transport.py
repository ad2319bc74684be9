"""Retries: idempotent calls retry on 5xx, 429 and connection errors; other POSTs never."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from scripted_server import Reply, ScriptedServer

from client import ApiConnectionError, ApiError, Client, ConflictError, MetricPoint
from client.transport import RetryPolicy, parse_retry_after

pytestmark = pytest.mark.unit
RUN = {"id": 1, "sweep_id": 1, "name": "r", "variant": "v", "kind": "baseline",
       "status": "running", "seed": 0, "queue": "cpu", "config": {}, "config_hash": "h",
       "baseline_key": "b", "attempt": 1, "created_at": "2026-11-23T12:00:00Z"}
UNAVAILABLE = Reply(503, {"title": "Service unavailable", "status": 503},
                    {"Retry-After": "0"})


def _client(url: str, retries: int = 3) -> Client:
    return Client(url, "tok", timeout=5, retries=retries, backoff_s=0.001, max_backoff_s=0.01)


def test_get_retries_503_twice_then_succeeds(scripted: ScriptedServer) -> None:
    scripted.script = [UNAVAILABLE, UNAVAILABLE, Reply(200, RUN)]
    run = _client(scripted.url).get_run(1)
    assert run.id == 1 and run.status == "running"
    assert scripted.requests == [("GET", "/api/v1/runs/1")] * 3


def test_gives_up_after_the_retries(scripted: ScriptedServer) -> None:
    scripted.script = [UNAVAILABLE]
    with pytest.raises(ApiError) as err:
        _client(scripted.url, retries=2).get_run(1)
    assert err.value.status == 503 and len(scripted.requests) == 3


def test_metric_post_and_heartbeat_are_retried(scripted: ScriptedServer) -> None:
    scripted.script = [Reply(429, headers={"Retry-After": "0"}),
                       Reply(200, {"received": 1, "inserted": 1})]
    result = _client(scripted.url).post_metrics(1, [MetricPoint("loss", 0, 1.0)])
    assert result.inserted == 1 and len(scripted.requests) == 2
    scripted.requests.clear()
    scripted.script = [UNAVAILABLE, Reply(200, {"cancel": True, "lease_expires_at": None})]
    assert _client(scripted.url).heartbeat_run(1, "w1").cancel
    assert len(scripted.requests) == 2


@pytest.mark.parametrize("call", ["claim", "complete", "submit", "cancel"])
def test_non_idempotent_post_is_sent_once(scripted: ScriptedServer, call: str) -> None:
    scripted.script = [UNAVAILABLE, Reply(200, RUN)]
    client = _client(scripted.url)
    calls: dict[str, Callable[[], object]] = {
        "claim": lambda: client.claim_run(1, "w1"),
        "complete": lambda: client.complete_run(1, "w1", {"accuracy": 0.9}),
        "submit": lambda: client.submit_sweep({"name": "x"}),
        "cancel": lambda: client.cancel_run(1)}
    with pytest.raises(ApiError) as err:
        calls[call]()
    assert err.value.status == 503 and len(scripted.requests) == 1


def test_conflict_is_typed_and_not_retried(scripted: ScriptedServer) -> None:
    scripted.script = [Reply(409, {"title": "Conflict", "status": 409,
                                   "detail": "run 1 is running", "request_id": "abc"})]
    with pytest.raises(ConflictError) as err:
        _client(scripted.url).get_run(1)
    assert (err.value.detail, err.value.request_id) == ("run 1 is running", "abc")
    assert len(scripted.requests) == 1


def test_connection_refused_is_retried_then_raised() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps: list[float] = []
    client = _client(f"http://127.0.0.1:{port}", retries=2)
    client.transport._sleep = sleeps.append
    with pytest.raises(ApiConnectionError):
        client.get_run(1)
    assert len(sleeps) == 2


def test_backoff_grows_and_honours_retry_after() -> None:
    policy = RetryPolicy(retries=5, backoff_s=1.0, max_backoff_s=8.0)
    assert 0.5 <= policy.delay(0, None) <= 1.0
    assert 4.0 <= policy.delay(3, None) <= 8.0
    assert policy.delay(10, None) <= 8.0
    assert policy.delay(0, 3.0) == 3.0 and policy.delay(0, 120.0) == 8.0
    assert parse_retry_after("2") == 2.0 and parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None
