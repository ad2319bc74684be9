"""AdmissionControl: how many run, who waits, in which order, and what a refusal says."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fresh_loop import run_in_fresh_loop
from starlette.types import Message, Receive, Scope, Send

from api.overload import AdmissionControl, AdmissionLimits, counted_path


class Gate:
    """An app whose requests run until released; records the order they started in."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.started.append(scope["path"])
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def _request(app: Any, path: str) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": [],
             "state": {"request_id": "rid"}}
    await app(scope, receive, send)
    return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]


def _control(gate: Gate, running: int, waiting: int, max_wait_s: float) -> AdmissionControl:
    return AdmissionControl(gate, AdmissionLimits(running, waiting, max_wait_s),
                            counted=counted_path)


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_full_line_is_refused_at_once_with_retry_after() -> None:
    async def scenario() -> None:
        gate = Gate()
        control = _control(gate, running=1, waiting=1, max_wait_s=30)
        first = asyncio.create_task(_request(control, "/api/v1/runs"))
        second = asyncio.create_task(_request(control, "/api/v1/runs"))
        await _settle()
        status, headers, body = await asyncio.wait_for(_request(control, "/api/v1/runs"), 1)
        assert status == 503 and headers[b"retry-after"] == b"1"
        problem = json.loads(body)
        assert problem["type"].endswith("/overloaded") and problem["instance"] == "/api/v1/runs"
        assert "1 requests running, 1 waiting" in problem["detail"]
        gate.release.set()
        assert [(await first)[0], (await second)[0]] == [200, 200]
        assert control.running == 0

    run_in_fresh_loop(scenario())


def test_a_wait_longer_than_max_wait_is_refused() -> None:
    async def scenario() -> None:
        gate = Gate()
        control = _control(gate, running=1, waiting=10, max_wait_s=0.05)
        first = asyncio.create_task(_request(control, "/api/v1/runs"))
        await _settle()
        assert (await _request(control, "/api/v1/runs"))[0] == 503
        gate.release.set()
        assert (await first)[0] == 200
        assert control.running == 0 and not control._line

    run_in_fresh_loop(scenario())


def test_slots_pass_to_the_waiters_first_come_first_served() -> None:
    async def scenario() -> None:
        gate = Gate()
        control = _control(gate, running=1, waiting=10, max_wait_s=30)
        tasks = []
        for name in ("/api/v1/a", "/api/v1/b", "/api/v1/c"):
            tasks.append(asyncio.create_task(_request(control, name)))
            await _settle()
        assert gate.started == ["/api/v1/a"]
        gate.release.set()
        assert [(await t)[0] for t in tasks] == [200, 200, 200]
        assert gate.started == ["/api/v1/a", "/api/v1/b", "/api/v1/c"]
        assert control.running == 0

    run_in_fresh_loop(scenario())


def test_a_waiter_that_goes_away_leaves_no_slot_taken() -> None:
    async def scenario() -> None:
        gate = Gate()
        control = _control(gate, running=1, waiting=10, max_wait_s=30)
        first = asyncio.create_task(_request(control, "/api/v1/runs"))
        await _settle()
        gone = asyncio.create_task(_request(control, "/api/v1/runs"))
        await _settle()
        gone.cancel()
        await _settle()
        assert not control._line
        gate.release.set()
        assert (await first)[0] == 200
        assert control.running == 0
        assert (await _request(control, "/api/v1/runs"))[0] == 200

    run_in_fresh_loop(scenario())


def test_probes_streams_and_static_files_are_not_counted() -> None:
    assert counted_path("/api/v1/runs") and counted_path("/metrics")
    assert not counted_path("/healthz") and not counted_path("/readyz")
    assert not counted_path("/api/v1/events") and not counted_path("/assets/index.js")

    async def scenario() -> None:
        gate = Gate()
        control = _control(gate, running=1, waiting=0, max_wait_s=0)
        first = asyncio.create_task(_request(control, "/api/v1/runs"))
        await _settle()
        assert (await _request(control, "/api/v1/runs"))[0] == 503
        probe = asyncio.create_task(_request(control, "/healthz"))
        await _settle()
        assert gate.started == ["/api/v1/runs", "/healthz"]
        gate.release.set()
        assert (await probe)[0] == 200 and (await first)[0] == 200

    run_in_fresh_loop(scenario())
