"""``MetricBuffer``: log metric points from a training loop without waiting for the API.

``log`` appends to an in-memory deque under a lock and returns (no I/O). A sender thread
posts batches of at most ``batch_size`` points; a spill thread moves points to disk segments
(``client.spill``) whenever memory passes half its bound, and a batch whose post fails is
spilled too. While the API is unreachable the sender backs off and retries the oldest
segment; when it answers, segments are replayed oldest first, then memory. The API stores a
point once per (run, key, step), so a batch sent twice (a lost reply) adds nothing.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from pathlib import Path
from typing import Protocol

from client.errors import ApiConnectionError, ApiError
from client.models import MetricPoint
from client.spill import SpillDir
from client.transport import RETRY_STATUSES


class MetricSink(Protocol):
    """What the buffer posts to (``Client`` is one)."""

    def post_metrics(self, run_id: int, points: list[MetricPoint], *,
                     retries: int | None = None) -> object: ...


class MetricBuffer:
    """Buffered, outage-proof metric logging for one run.

    Args:
        sink: usually a ``Client``.
        run_id: the run the points belong to.
        spill_dir: overflow segments go to ``spill_dir/run-<run_id>`` (segments left
            there by an earlier buffer of the run are replayed).
        batch_size: points per request (the API takes at most 10,000).
        max_memory_points: the in-memory bound; ``log`` only waits if the spill thread
            cannot keep up with it (a stalled disk), never for the network.
        flush_interval_s: the longest a partial batch waits before it is sent.
        backoff_s, max_backoff_s: retry delays while the API is down (doubling, jittered).
    """

    def __init__(self, sink: MetricSink, run_id: int, spill_dir: str | Path, *,
                 batch_size: int = 10_000, max_memory_points: int = 100_000,
                 flush_interval_s: float = 1.0, backoff_s: float = 0.5,
                 max_backoff_s: float = 30.0) -> None:
        if not 1 <= batch_size <= 10_000 or max_memory_points < 2 * batch_size:
            raise ValueError("need 1 <= batch_size <= 10,000 <= max_memory_points / 2")
        self.sink, self.run_id = sink, run_id
        self.spill = SpillDir(Path(spill_dir) / f"run-{run_id}")
        self.batch_size, self.max_memory_points = batch_size, max_memory_points
        self.flush_interval_s = flush_interval_s
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self._cond = threading.Condition()
        self._pending: deque[MetricPoint] = deque()
        self._busy = 0  # points taken from memory by a thread and not yet sent or spilled
        self._segments = len(self.spill.segments())
        self._wake = self._stopping = self._closed = False
        self._error: ApiError | None = None
        self.outage = False
        self.peak_in_memory = 0
        self._threads = [threading.Thread(target=self._send_loop, daemon=True,
                                          name=f"metrics-send-{run_id}"),
                         threading.Thread(target=self._spill_loop, daemon=True,
                                          name=f"metrics-spill-{run_id}")]
        for thread in self._threads:
            thread.start()

    def __enter__(self) -> MetricBuffer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the training side -------------------------------------------------------------

    def log(self, key: str, step: int, value: float, wall_time: float | None = None) -> None:
        """Queue one point (wall time defaults to now); returns without I/O."""
        if step < 0 or not math.isfinite(value) or not key:
            raise ValueError(f"invalid metric point {key!r} step={step} value={value}")
        point = MetricPoint(key, int(step), float(value),
                            time.time() if wall_time is None else wall_time)
        with self._cond:
            if self._closed:
                raise RuntimeError("the metric buffer is closed")
            while len(self._pending) >= self.max_memory_points:
                self._cond.wait()  # back-pressure from a stalled disk only
            self._pending.append(point)
            n = len(self._pending)
            self.peak_in_memory = max(self.peak_in_memory, n)
            if n == self.batch_size or n == self.max_memory_points // 2:
                self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything now (memory and spilled segments); True once all is stored,
        False if ``timeout`` passed first. Raises the ``ApiError`` that stopped sending."""
        with self._cond:
            self._wake = True
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._drained() or self._error is not None, timeout)
            if self._error is not None:
                raise self._error
            return self._drained()

    def close(self, timeout: float | None = 30.0) -> bool:
        """Flush (up to ``timeout``), stop the threads and spill what is left to disk, so
        a later buffer on the same ``spill_dir`` sends it. True when everything was sent."""
        try:
            delivered = self.flush(timeout)
        except ApiError:
            delivered = False
        with self._cond:
            self._closed = self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        with self._cond:
            rest, self._pending = list(self._pending), deque()
        for start in range(0, len(rest), self.batch_size):
            self.spill.write(rest[start:start + self.batch_size])
        return delivered

    @property
    def in_memory(self) -> int:
        """Points held in memory (queued or being handed to the network or disk)."""
        with self._cond:
            return len(self._pending) + self._busy

    @property
    def error(self) -> ApiError | None:
        """The permanent error (e.g. 404: the run was deleted) that stopped sending."""
        return self._error

    # -- the background side -----------------------------------------------------------

    def _drained(self) -> bool:
        return not self._pending and not self._busy and not self._segments

    def _take(self, n: int) -> list[MetricPoint]:
        """Move up to ``n`` points out of memory (the lock is held)."""
        batch = [self._pending.popleft() for _ in range(min(n, len(self._pending)))]
        self._busy += len(batch)
        self._cond.notify_all()  # room for a waiting ``log``
        return batch

    def _spill_loop(self) -> None:
        high = self.max_memory_points // 2
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping or len(self._pending) >= high)
                if self._stopping:
                    return
                batch = self._take(self.batch_size)
            self.spill.write(batch)
            with self._cond:
                self._busy -= len(batch)
                self._segments += 1
                self._cond.notify_all()

    def _send_loop(self) -> None:
        failures = 0
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping or self._wake or bool(
                    self._segments) or len(self._pending) >= self.batch_size,
                    self.flush_interval_s)
                if self._error is not None:  # permanent: keep the data, stop sending
                    self._cond.wait_for(lambda: self._stopping)
                if self._stopping:
                    return
                from_disk = self._segments > 0
                batch = [] if from_disk else self._take(self.batch_size)
                if not from_disk and not batch:
                    self._wake = False
                    continue
            if from_disk:  # listing and reading happen outside the lock ``log`` takes
                found = self.spill.segments()
                if not found:  # removed behind our back: trust the directory
                    with self._cond:
                        self._segments = 0
                    continue
                segment: Path | None = found[0]
                batch = self.spill.read(found[0])
            else:
                segment = None
            if self._post(batch, from_memory=segment is None):
                failures = 0
                if segment is not None:
                    segment.unlink()
                with self._cond:
                    self._segments -= segment is not None
                    self._cond.notify_all()
                continue
            failures += 1
            delay = min(self.backoff_s * 2 ** (failures - 1), self.max_backoff_s)
            with self._cond:  # a flush() or close() cuts the wait short
                self._wake = False
                self._cond.wait_for(lambda: self._stopping or self._wake,
                                    random.uniform(delay / 2, delay))

    def _post(self, batch: list[MetricPoint], *, from_memory: bool) -> bool:
        """Post one batch; a failed batch from memory becomes a segment."""
        try:
            self.sink.post_metrics(self.run_id, batch, retries=0)
            ok, permanent = True, None
        except ApiConnectionError:
            ok, permanent = False, None
        except ApiError as exc:
            ok, permanent = False, (None if exc.status in RETRY_STATUSES else exc)
        if not ok and from_memory:
            self.spill.write(batch)
        with self._cond:
            if from_memory:
                self._busy -= len(batch)
                self._segments += not ok
            self.outage = not ok and permanent is None
            self._error = permanent or self._error
            self._cond.notify_all()
        return ok
