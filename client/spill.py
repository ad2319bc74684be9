"""Spill segments: batches of metric points on local disk while the API is unreachable.

A segment is one JSONL file of at most one batch, written to a temporary name and renamed,
so a reader never sees half a file; sequence numbers keep them in order. Segments left by a
previous process (it crashed or closed during an outage) are replayed by the next buffer
that uses the same directory.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

from client.models import MetricPoint

_SEGMENT = re.compile(r"seg-([0-9]{12})\.jsonl")  # fullmatch: no trailing newline


class SpillDir:
    """The segments of one run, oldest first."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._next = max((int(m.group(1)) for p in root.iterdir()
                          if (m := _SEGMENT.fullmatch(p.name))), default=-1) + 1

    def segments(self) -> list[Path]:
        """Complete segment files, oldest first."""
        return sorted(p for p in self.root.iterdir() if _SEGMENT.fullmatch(p.name))

    def write(self, points: list[MetricPoint]) -> Path:
        """Store one batch as a new segment (fsynced: it must outlive a crash)."""
        with self._lock:
            seq, self._next = self._next, self._next + 1
        path = self.root / f"seg-{seq:012d}.jsonl"
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for p in points:
                f.write(json.dumps([p.key, p.step, p.value, p.wall_time]) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return path

    @staticmethod
    def read(path: Path) -> list[MetricPoint]:
        with path.open(encoding="utf-8") as f:
            return [MetricPoint(str(k), int(s), float(v), None if w is None else float(w))
                    for k, s, v, w in map(json.loads, f)]
