"""MetricBuffer against an in-process sink: no I/O in log, spilling, replay, no duplicates."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from polling import wait_for

from client import ApiConnectionError, MetricBuffer, MetricPoint, NotFoundError

pytestmark = pytest.mark.unit


class FakeSink:
    """Stores points by (key, step) like the API; can be down, or block every post."""

    def __init__(self) -> None:
        self.stored: dict[tuple[str, int], float] = {}
        self.posts = 0
        self.down = False
        self.gate = threading.Event()
        self.gate.set()
        self.error: Exception | None = None

    def post_metrics(self, run_id: int, points: list[MetricPoint], *,
                     retries: int | None = None) -> object:
        self.gate.wait()
        self.posts += 1
        if self.error is not None:
            raise self.error
        if self.down:
            raise ApiConnectionError("down")
        for p in points:
            self.stored.setdefault((p.key, p.step), p.value)
        return None



def test_log_returns_while_the_sender_is_blocked(tmp_path: Path) -> None:
    sink = FakeSink()
    sink.gate.clear()  # every post hangs, as on a stalled connection
    buf = MetricBuffer(sink, 1, tmp_path, batch_size=100, max_memory_points=10_000,
                       flush_interval_s=0.01)
    for step in range(3000):
        buf.log("loss", step, 1.0 / (step + 1))
    assert not sink.stored and buf.in_memory == 3000  # all queued, none sent yet
    assert not buf.spill.segments()  # and nothing written to disk either
    sink.gate.set()
    assert buf.flush(10)
    assert len(sink.stored) == 3000
    buf.close()


def test_outage_spills_to_disk_and_replays_everything_once(tmp_path: Path) -> None:
    sink = FakeSink()
    sink.down = True
    buf = MetricBuffer(sink, 1, tmp_path, batch_size=50, max_memory_points=200,
                       flush_interval_s=0.01, backoff_s=0.001, max_backoff_s=0.01)
    for step in range(2000):
        buf.log("acc", step, step / 2000)
        buf.log("loss", step, 1.0)
    wait_for(lambda: buf.outage, timeout=10, what="the buffer to notice the outage",
             interval=0.005)
    assert buf.peak_in_memory <= 200 and buf.spill.segments()
    assert not buf.flush(0.05)  # still down: not delivered, nothing raised
    sink.down = False
    assert buf.flush(10)
    assert len(sink.stored) == 4000 and not buf.spill.segments()
    buf.close()


def test_close_during_an_outage_leaves_segments_a_new_buffer_replays(tmp_path: Path) -> None:
    sink = FakeSink()
    sink.down = True
    buf = MetricBuffer(sink, 7, tmp_path, batch_size=10, max_memory_points=100,
                       flush_interval_s=0.01, backoff_s=0.001, max_backoff_s=0.01)
    for step in range(55):
        buf.log("lr", step, 0.1)
    assert not buf.close(timeout=0.1)
    assert sum(len(buf.spill.read(p)) for p in buf.spill.segments()) >= 55
    sink.down = False
    again = MetricBuffer(sink, 7, tmp_path, batch_size=10, max_memory_points=100)
    assert again.flush(10)
    assert sorted(step for _, step in sink.stored) == list(range(55))
    again.close()


def test_a_permanent_error_stops_sending_and_is_raised(tmp_path: Path) -> None:
    sink = FakeSink()
    sink.error = NotFoundError(404, "Not found", "run 1 does not exist")
    buf = MetricBuffer(sink, 1, tmp_path, batch_size=10, max_memory_points=100,
                       flush_interval_s=0.01)
    buf.log("loss", 0, 1.0)
    with pytest.raises(NotFoundError):
        buf.flush(10)
    assert buf.error is not None and buf.spill.segments()
    buf.close(timeout=1)


def test_invalid_points_are_refused_at_log(tmp_path: Path) -> None:
    buf = MetricBuffer(FakeSink(), 1, tmp_path)
    for key, step, value in [("loss", -1, 1.0), ("loss", 0, float("nan")), ("", 0, 1.0)]:
        with pytest.raises(ValueError):
            buf.log(key, step, value)
    buf.close()
    with pytest.raises(RuntimeError):
        buf.log("loss", 0, 1.0)
