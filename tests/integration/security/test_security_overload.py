"""Overload and a frozen database: every request ends, as 2xx or as a 503 with Retry-After,
within a bounded time; never a 500, a reset or a hang. A live uvicorn server on PostgreSQL
(the security tests' database), with the pool and waits made small so that a few hundred
requests are an overload and the bounds are seconds."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fresh_loop import run_in_fresh_loop
from frozen_proxy import FrozenProxy
from liveapi import LiveApi, free_port
from polling import wait_for
from securityhelpers import ADMIN_TOKEN, problem, serving, spec
from sqlalchemy.engine import make_url

from api.settings import Settings

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def small(settings: Settings) -> Settings:
    """Two requests at once, a line of four that waits at most 0.3 s."""
    return settings.model_copy(update={"db_pool_size": 2, "db_max_overflow": 2,
                                       "max_waiting_requests": 4, "max_wait_s": 0.3})


@pytest.fixture
def live(small: Settings) -> Iterator[str]:
    with serving(small) as _:
        api = LiveApi(small, free_port())
        api.start()
        try:
            yield api.url
        finally:
            api.stop()


async def _burst(url: str, path: str, n: int) -> tuple[Counter[int], list[str], list[Any]]:
    """``n`` requests at once, each on its own connection; statuses, transport errors and
    the 503 responses."""
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, headers=AUTH, limits=limits,
                                 timeout=30.0) as client:
        replies = await asyncio.gather(*(client.get(path) for _ in range(n)),
                                       return_exceptions=True)
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    refused: list[Any] = []
    for reply in replies:
        if isinstance(reply, BaseException):
            errors.append(repr(reply))
            continue
        statuses[reply.status_code] += 1
        if reply.status_code == 503:
            refused.append(reply)
    return statuses, errors, refused


def test_an_overload_gets_fast_503s_with_retry_after_never_500s(live: str) -> None:
    httpx.post(f"{live}/api/v1/sweeps", json=spec(), headers=AUTH).raise_for_status()
    statuses, errors, refused = run_in_fresh_loop(_burst(live, "/api/v1/runs?limit=5", 200))
    assert errors == []
    assert set(statuses) <= {200, 503}, statuses
    # The running slots always finish; how many waiters get in depends on the host's speed.
    assert statuses[200] >= 2 and statuses[503] > 0, statuses
    for reply in refused:
        body = problem(reply, 503)
        assert reply.headers["retry-after"] == "1"
        assert body["type"].endswith("/overloaded")
    # The overload is over once the burst is: nothing stays stuck in the line.
    assert httpx.get(f"{live}/api/v1/runs?limit=5", headers=AUTH).status_code == 200


def test_health_probes_do_not_wait_in_the_line(live: str) -> None:
    async def during_burst() -> tuple[list[int], list[int]]:
        burst = asyncio.create_task(_burst(live, "/api/v1/runs?limit=5", 200))
        health: list[int] = []
        ready: list[int] = []
        async with httpx.AsyncClient(base_url=live, timeout=30.0) as probe:
            while not burst.done():
                health.append((await probe.get("/healthz")).status_code)
                ready.append((await probe.get("/readyz")).status_code)
                await asyncio.sleep(0.02)
        statuses = (await burst)[0]
        assert statuses[503] > 0, statuses  # the line was full while the probes ran
        return health, ready

    health, ready = run_in_fresh_loop(during_burst())
    assert health and set(health) == {200}
    assert ready and set(ready) == {200}


def test_an_exhausted_pool_answers_503_not_500(settings: Settings) -> None:
    tight = settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0,
                                        "db_pool_timeout_s": 0.5})
    from fastapi.testclient import TestClient

    with serving(tight) as app, TestClient(app, raise_server_exceptions=False,
                                           headers=AUTH) as client:
        assert client.get("/api/v1/sweeps").status_code == 200
        with app.state.db.engine.connect():  # background work holds the only connection
            started = time.monotonic()
            reply = client.get("/api/v1/sweeps")
            assert time.monotonic() - started < 5
        problem(reply, 503)
        assert reply.headers["retry-after"] == "1"
        assert client.get("/api/v1/sweeps").status_code == 200


@pytest.fixture
def proxy(security_database: str) -> Iterator[FrozenProxy]:
    url = make_url(security_database)
    p = FrozenProxy((url.host or "127.0.0.1", url.port or 5432))
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def through_proxy(settings: Settings, security_database: str,
                  proxy: FrozenProxy) -> Iterator[str]:
    """The API with its database behind the proxy; timeouts of a second or two."""
    url = make_url(security_database).set(host="127.0.0.1", port=proxy.port)
    behind = settings.model_copy(update={
        "database_url": url.render_as_string(hide_password=False),
        "db_connect_timeout_s": 2, "db_statement_timeout_s": 1.0, "db_pool_timeout_s": 1.0,
        "ready_timeout_s": 1.0})
    with serving(settings) as _:  # empties the tables afterwards, on a direct connection
        api = LiveApi(behind, free_port())
        api.start()
        try:
            yield api.url
        finally:
            proxy.thaw()
            api.stop()


def test_a_frozen_database_path_ends_every_request_in_bounded_time(
        through_proxy: str, proxy: FrozenProxy) -> None:
    with httpx.Client(base_url=through_proxy, headers=AUTH, timeout=30.0) as client:
        assert client.get("/readyz").status_code == 200
        assert client.get("/api/v1/sweeps").status_code == 200
        proxy.freeze()

        started = time.monotonic()
        ready = client.get("/readyz")
        assert time.monotonic() - started < 3, "readyz waits on ready_timeout_s (1 s)"
        assert "did not answer within 1 s" in problem(ready, 503)["detail"]

        # A pooled connection's ping gets no answer (abandoned after 1 + 1 s), and a new
        # connection none either (connect_timeout, 2 s): 503 after about 4 s, not a hang.
        for path in ("/api/v1/sweeps", "/api/v1/runs?limit=5"):
            started = time.monotonic()
            reply = client.get(path)
            assert time.monotonic() - started < 10, path
            problem(reply, 503)

        proxy.thaw()
        wait_for(lambda: client.get("/readyz").status_code == 200, timeout=20,
                 what="readyz after the path thawed", interval=0.2)
        assert client.get("/api/v1/sweeps").status_code == 200


def test_a_statement_over_statement_timeout_answers_503(settings: Settings) -> None:
    """The server cancels it (a row lock held elsewhere here); the client hears 503."""
    from fastapi.testclient import TestClient
    from sqlalchemy import text

    quick = settings.model_copy(update={"db_statement_timeout_s": 0.5})
    with serving(quick) as app, TestClient(app, raise_server_exceptions=False,
                                           headers=AUTH) as client:
        run_id = client.post("/api/v1/sweeps", json=spec()).json()["run_ids"][0]
        with app.state.db.engine.begin() as holder:
            holder.execute(text("SELECT 1 FROM runs WHERE id = :id FOR UPDATE"),
                           {"id": run_id})
            started = time.monotonic()
            reply = client.post(f"/api/v1/runs/{run_id}/cancel")
            assert time.monotonic() - started < 5
        assert problem(reply, 503)["detail"] == (
            "the database is unavailable or too slow; retry later")
        assert client.post(f"/api/v1/runs/{run_id}/cancel").status_code == 200
