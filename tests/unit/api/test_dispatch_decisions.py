"""The reconciler's decisions, without a database or a broker: which runs count as lost,
and how a failing broker stops a batch of sends."""

from __future__ import annotations

import pytest

from api.enqueue import DeferredEnqueuer, QueueDepth, enqueue_all
from api.services.dispatch import Backlog, plan_resend

pytestmark = pytest.mark.unit


def test_an_emptied_queue_gets_every_stale_run_back() -> None:
    # the broker restarted without its data: 5 runs were sent, 3 long enough ago
    assert plan_resend({"cpu": Backlog(sent=5, stale=3)}, {"cpu": 0}) == {"cpu": 3}


def test_a_queue_holding_every_message_gets_nothing() -> None:
    assert plan_resend({"cpu": Backlog(sent=4, stale=4)}, {"cpu": 4}) == {}
    # duplicates or messages of cancelled runs may make the queue longer than the backlog
    assert plan_resend({"cpu": Backlog(sent=4, stale=4)}, {"cpu": 9}) == {}


def test_only_the_missing_messages_are_resent() -> None:
    assert plan_resend({"cpu": Backlog(sent=10, stale=8)}, {"cpu": 7}) == {"cpu": 3}
    # missing messages beyond the stale runs belong to runs sent too recently to judge
    assert plan_resend({"gpu": Backlog(sent=10, stale=2)}, {"gpu": 0}) == {"gpu": 2}


def test_an_unknown_depth_resends_nothing() -> None:
    backlog = {"cpu": Backlog(sent=3, stale=3), "gpu": Backlog(sent=2, stale=2)}
    assert plan_resend(backlog, {"cpu": None}) == {}


def test_queues_are_judged_apart_and_capped() -> None:
    backlog = {"cpu": Backlog(sent=1000, stale=1000), "gpu": Backlog(sent=2, stale=2)}
    assert plan_resend(backlog, {"cpu": 0, "gpu": 2}, limit=100) == {"cpu": 100}


class _Broker:
    """Accepts ``ok`` sends, then refuses every one."""

    def __init__(self, ok: int) -> None:
        self.ok, self.tries = ok, 0

    def enqueue(self, run_id: int, queue: str) -> None:
        self.tries += 1
        if self.tries > self.ok:
            raise ConnectionError("broker down")


def test_enqueue_all_stops_at_the_first_failure() -> None:
    broker = _Broker(ok=2)
    runs = [(1, "cpu"), (2, "cpu"), (3, "gpu"), (4, "cpu")]
    assert enqueue_all(broker, runs) == [(3, "gpu"), (4, "cpu")]
    assert broker.tries == 3  # one failed try, not one per remaining run
    assert enqueue_all(_Broker(ok=10), runs) == []


def test_only_a_producer_that_can_count_is_asked_for_depth() -> None:
    assert not isinstance(DeferredEnqueuer(), QueueDepth)
