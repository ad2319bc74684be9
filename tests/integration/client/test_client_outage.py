"""MetricBuffer across a real API outage: the server stops mid-run, points spill to disk,
a new server comes up on the same port, and every point is stored exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest
from liveapi import ADMIN_TOKEN, LiveApi
from polling import wait_for

from client import Client, MetricBuffer

pytestmark = pytest.mark.integration
KEYS = ("train/loss", "val/accuracy", "lr")
STEPS = 3000



def test_buffer_survives_an_api_outage(live_api: LiveApi, admin: Client,
                                       tmp_path: Path) -> None:
    spec = {"name": "outage", "task": "digits-mlp", "seeds": [0], "recipes": []}
    run_id = admin.submit_sweep(spec).baseline_run_ids[0]
    admin.claim_run(run_id, "w1")  # a run takes points from its lease's token while it runs
    spill = tmp_path / "spill"
    sender = Client(live_api.url, ADMIN_TOKEN, timeout=2, retries=0)
    buf = MetricBuffer(sender, run_id, spill, batch_size=500, max_memory_points=1000,
                       flush_interval_s=0.05, backoff_s=0.01, max_backoff_s=0.1)
    for step in range(1000):  # API up
        for key in KEYS:
            buf.log(key, step, step * 0.001)
    assert buf.flush(20)

    live_api.stop()
    for step in range(900, STEPS):  # API down; steps 900-999 are logged a second time
        for key in KEYS:
            buf.log(key, step, step * 0.001)
    wait_for(lambda: buf.outage and len(buf.spill.segments()) >= 5, timeout=20,
             what="the buffer to spill 5 segments during the outage", interval=0.01)
    assert buf.spill.root == spill / f"run-{run_id}"
    assert buf.peak_in_memory <= 1000  # the memory bound held; the rest went to disk
    assert not buf.flush(0.2)

    live_api.start()  # a new server on the same port and database
    assert buf.flush(30)
    assert not list(buf.spill.root.iterdir()) and buf.in_memory == 0
    for key in KEYS:
        series = admin.get_series(run_id, key, buckets=STEPS)
        assert series.total_points == STEPS
        assert [(b.step_min, b.count) for b in series.buckets] == [
            (step, 1) for step in range(STEPS)]  # each step once, none missing
    assert buf.close(5)
    sender.close()
