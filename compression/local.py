"""Run a whole sweep in-process (``squeezelab local``): baselines once, then every run.

Each baseline is trained once per (task, seed, baseline config) and shared by the compress
runs that depend on it. A run that fails records its error and the sweep goes on.
"""

from __future__ import annotations

import time
import traceback
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from compression.errors import CompressionError
from compression.runner import RunResult, execute_run
from compression.spec import RunConfig, SweepSpec, expand

Status = Literal["succeeded", "failed", "skipped"]


@dataclass
class RunRecord:
    """One run's outcome, in the shape results.json stores."""

    name: str
    kind: str
    config: dict[str, Any]
    status: Status
    summary: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    curves: dict[str, list[list[float]]] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)
    duration_s: float = 0.0


class SweepObserver(Protocol):
    """Progress callbacks (the CLI draws bars with them)."""

    def run_started(self, config: RunConfig) -> None: ...
    def metric(self, config: RunConfig, key: str, step: int, value: float) -> None: ...
    def run_finished(self, record: RunRecord) -> None: ...


class _Silent:
    def run_started(self, config: RunConfig) -> None:
        pass

    def metric(self, config: RunConfig, key: str, step: int, value: float) -> None:
        pass

    def run_finished(self, record: RunRecord) -> None:
        pass


def _error(exc: BaseException) -> dict[str, str]:
    if isinstance(exc, CompressionError):
        return {"type": type(exc).__name__, "message": str(exc)}
    # Not the user's fault: keep the traceback so the bug can be reported.
    return {"type": type(exc).__name__, "message": str(exc) or repr(exc),
            "traceback": "".join(traceback.format_exception(exc))}


def _execute(config: RunConfig, workdir: Path, observer: SweepObserver,
             baseline: Path | None) -> tuple[RunRecord, RunResult | None]:
    curves: dict[str, list[list[float]]] = defaultdict(list)

    def emit(key: str, step: int, value: float) -> None:
        curves[key].append([step, value])
        observer.metric(config, key, step, value)

    observer.run_started(config)
    started = time.perf_counter()
    record = RunRecord(name=config.name, kind=config.kind, status="failed",
                       config=config.model_dump(mode="json"))
    result: RunResult | None = None
    try:
        result = execute_run(config, workdir=workdir / config.config_hash, emit=emit,
                             baseline_weights=baseline)
    except Exception as exc:  # the sweep goes on; the record says what happened
        record.error = _error(exc)
    else:
        record.summary = result.summary.to_json()
        record.artifacts = [str(p) for p in result.artifacts]
        if result.summary.failure is None:
            record.status = "succeeded"
        else:  # finished, but the result guard refuses it as a result
            record.error = {"type": "InvalidResultError", "message": result.summary.failure}
    record.curves = dict(curves)
    record.duration_s = round(time.perf_counter() - started, 3)
    observer.run_finished(record)
    return record, result


def run_local_sweep(spec: SweepSpec, *, workdir: Path,
                    observer: SweepObserver | None = None) -> dict[str, Any]:
    """Run every run of ``spec`` here; returns the results document (results.json)."""
    observer = observer or _Silent()
    runs = expand(spec)
    baselines: dict[str, Path | None] = {}
    records: list[RunRecord] = []
    for config in runs:
        if config.kind == "baseline":
            record, result = _execute(config, workdir, observer, None)
            baselines[config.baseline_key] = result.weights if result else None
        else:
            weights = baselines.get(config.baseline_key)
            if weights is None:
                record = RunRecord(name=config.name, kind=config.kind, status="skipped",
                                   config=config.model_dump(mode="json"),
                                   error={"type": "BaselineFailed",
                                          "message": "its baseline run failed"})
                observer.run_finished(record)
            else:
                record, _ = _execute(config, workdir, observer, weights)
        records.append(record)
    counts: dict[str, int] = defaultdict(int)
    for r in records:
        counts[r.status] += 1
    return {
        "sweep": {"name": spec.name, "task": spec.task_name, "spec": spec.model_dump(mode="json"),
                  "counts": dict(counts)},
        "runs": [asdict(r) for r in records],
    }
