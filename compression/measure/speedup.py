"""Speedups with a 95% interval, computed from the interleaved timings that measured them.

The dense model and a candidate are timed in alternating rounds (``time_interleaved``), so
round i of one and round i of the other ran on the same machine at nearly the same moment.
The interval resamples whole rounds, the same rounds for both models (a paired block
bootstrap), and recomputes the ratio of the two medians each time. Load that slows both
models alike cancels in the ratio; load that hits the rounds of one model more than the
other's widens the interval. A speedup whose interval contains 1.0 is noise: these timings
cannot tell it from no change at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from compression.measure.latency import CALLS_PER_ROUND, percentile

CONFIDENCE = 0.95
RESAMPLES = 2000
# batch size -> milliseconds of each timed call, in the order they were taken
PerBatch = Mapping[int, Sequence[float]]


@dataclass(frozen=True)
class SpeedupEstimate:
    """A speedup (dense p50 / model p50) and its bootstrap interval."""

    ratio: float
    lo: float
    hi: float

    @property
    def noise(self) -> bool:
        """The interval contains 1.0: no measurable change in speed."""
        return self.lo <= 1.0 <= self.hi

    def as_summary(self) -> dict[str, float | bool]:
        return {"lo": self.lo, "hi": self.hi, "noise": self.noise}


def _medians(samples: np.ndarray, idx: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Nearest-rank median (as ``percentile(…, 50)``) of each row's valid samples."""
    values = np.sort(np.where(valid, samples[idx], np.inf), axis=1)
    rank = (valid.sum(axis=1) + 1) // 2 - 1
    medians: np.ndarray = np.take_along_axis(values, rank[:, None], axis=1)[:, 0]
    return medians


def speedup_estimate(dense: Sequence[float], model: Sequence[float], *,
                     block: int = CALLS_PER_ROUND, resamples: int = RESAMPLES,
                     confidence: float = CONFIDENCE, seed: int = 0) -> SpeedupEstimate:
    """The speedup of ``model`` over ``dense`` and its percentile-bootstrap interval.

    Args:
        dense, model: milliseconds per call, timed interleaved: sample i of both belongs to
            the same round (``time_interleaved`` takes ``block`` calls per subject a round).
        block: calls per round; rounds are resampled whole (1 resamples single pairs).
        seed: the resampling is seeded, so the same timings give the same interval.
    """
    if len(dense) != len(model) or len(dense) == 0:
        raise ValueError(f"need paired timings, got {len(dense)} dense and {len(model)} model")
    if block < 1 or resamples < 1 or not 0 < confidence < 1:
        raise ValueError(f"bad bootstrap settings: block={block}, resamples={resamples}, "
                         f"confidence={confidence}")
    d, m = np.asarray(dense, dtype=float), np.asarray(model, dtype=float)
    starts = np.arange(0, len(d), block)
    chosen = np.random.default_rng(seed).integers(0, len(starts), (resamples, len(starts)))
    idx = (starts[chosen][..., None] + np.arange(block)).reshape(resamples, -1)
    valid = idx < len(d)  # the last round may be short
    idx = np.where(valid, idx, 0)
    ratios = _medians(d, idx, valid) / _medians(m, idx, valid)
    tail = (1 - confidence) / 2
    lo, hi = np.quantile(ratios, [tail, 1 - tail])
    return SpeedupEstimate(ratio=float(percentile(dense, 50) / percentile(model, 50)),
                           lo=float(lo), hi=float(hi))


def speed_summary(model: Mapping[str, PerBatch],
                  dense: Mapping[str, PerBatch] | None) -> dict[str, object]:
    """The summary's ``latency_ms``, ``speedup`` and ``speedup_interval``, per runtime and
    batch size (batch sizes as string keys: the summary is stored as JSON).

    ``dense`` None means the model is the dense model (a baseline): its speedup is 1.0 by
    definition, not a measurement, so it has no interval.
    """
    latency = {runtime: {str(b): {"p50": percentile(ms, 50), "p90": percentile(ms, 90)}
                         for b, ms in per_batch.items()}
               for runtime, per_batch in model.items()}
    if dense is None:
        return {"latency_ms": latency,
                "speedup": {runtime: dict.fromkeys(per_batch, 1.0)
                            for runtime, per_batch in latency.items()}}
    estimates = {runtime: {str(b): speedup_estimate(dense[runtime][b], ms)
                           for b, ms in per_batch.items()}
                 for runtime, per_batch in model.items()}
    return {
        "latency_ms": latency,
        "speedup": {runtime: {b: e.ratio for b, e in per_batch.items()}
                    for runtime, per_batch in estimates.items()},
        "speedup_interval": {runtime: {b: e.as_summary() for b, e in per_batch.items()}
                             for runtime, per_batch in estimates.items()},
    }
