"""Speedup intervals: noise is told from a gain, rounds are resampled paired, summaries typed."""

from __future__ import annotations

import numpy as np
import pytest

from compression.measure.speedup import speed_summary, speedup_estimate
from compression.spec import RunSummary

pytestmark = pytest.mark.unit


def _timings(ms: float, *, n: int = 50, spread: float = 0.1, seed: int) -> list[float]:
    """``n`` calls of about ``ms`` milliseconds, with lognormal jitter."""
    rng = np.random.default_rng(seed)
    return list(ms * rng.lognormal(0.0, spread, n))


def test_identical_timings_are_noise() -> None:
    same = _timings(1.0, seed=0)
    estimate = speedup_estimate(same, list(same))
    assert estimate.ratio == 1.0
    assert estimate.lo <= 1.0 <= estimate.hi
    assert estimate.noise


def test_two_models_of_the_same_speed_are_noise() -> None:
    estimate = speedup_estimate(_timings(1.0, seed=1), _timings(1.0, seed=2))
    assert estimate.lo < 1.0 < estimate.hi
    assert estimate.noise
    assert estimate.as_summary() == {"lo": estimate.lo, "hi": estimate.hi, "noise": True}


def test_a_model_twice_as_fast_is_a_gain() -> None:
    estimate = speedup_estimate(_timings(2.0, seed=3), _timings(1.0, seed=4))
    assert 1.5 < estimate.lo <= estimate.ratio <= estimate.hi < 2.5
    assert not estimate.noise


def test_a_slower_model_is_not_noise_either() -> None:
    estimate = speedup_estimate(_timings(1.0, seed=5), _timings(1.5, seed=6))
    assert estimate.hi < 1.0 and not estimate.noise


def test_load_that_slows_both_models_in_a_round_cancels() -> None:
    """Rounds are resampled paired: a round where the machine is 3x slower for both models
    leaves the ratio alone, however much it spreads each model's timings."""
    load = np.repeat(np.random.default_rng(7).choice([1.0, 3.0], 10), 5)  # per round of 5
    dense = list(2.0 * load * np.random.default_rng(8).lognormal(0, 0.02, 50))
    model = list(1.0 * load * np.random.default_rng(9).lognormal(0, 0.02, 50))
    paired = speedup_estimate(dense, model)
    assert 1.8 < paired.lo <= paired.hi < 2.2
    # Load on one model's rounds only is noise the interval must show.
    skewed = list(1.0 * np.repeat(np.random.default_rng(10).choice([1.0, 3.0], 10), 5))
    assert speedup_estimate(dense, skewed).hi - speedup_estimate(dense, skewed).lo > 0.5


def test_the_interval_is_deterministic_and_handles_a_short_last_round() -> None:
    dense, model = _timings(1.2, n=52, seed=11), _timings(1.0, n=52, seed=12)
    first, again = speedup_estimate(dense, model), speedup_estimate(dense, model)
    assert first == again
    assert speedup_estimate(dense, model, seed=1) != first
    assert first.lo <= first.ratio <= first.hi and isinstance(first.ratio, float)
    few = speedup_estimate(dense[:7], model[:7])  # a round of 5, then one of 2
    assert few.lo <= few.hi


@pytest.mark.parametrize(("dense", "model", "kwargs"), [
    ([1.0, 2.0], [1.0], {}), ([], [], {}), ([1.0], [1.0], {"block": 0}),
    ([1.0], [1.0], {"confidence": 1.0})])
def test_bad_input_raises(dense: list[float], model: list[float],
                          kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        speedup_estimate(dense, model, **kwargs)  # type: ignore[arg-type]


def test_speed_summary_of_a_compressed_model_is_a_valid_summary() -> None:
    model = {"torch": {1: _timings(1.0, seed=13), 64: _timings(10.0, seed=14)}}
    dense = {"torch": {1: _timings(1.0, seed=15), 64: _timings(20.0, seed=16)}}
    block = speed_summary(model, dense)
    assert set(block) == {"latency_ms", "speedup", "speedup_interval"}
    interval = block["speedup_interval"]
    assert isinstance(interval, dict) and set(interval["torch"]) == {"1", "64"}
    assert interval["torch"]["1"]["noise"] and not interval["torch"]["64"]["noise"]
    summary = RunSummary.model_validate(block).to_json()
    assert summary["speedup_interval"]["torch"]["64"]["lo"] > 1.5
    # The speedup is the ratio of the nearest-rank medians (the 25th of 50 calls), as before.
    median = 24
    assert summary["speedup"]["torch"]["64"] == (
        sorted(dense["torch"][64])[median] / sorted(model["torch"][64])[median])


def test_a_baseline_has_speedup_one_and_no_interval() -> None:
    block = speed_summary({"onnxruntime": {8: _timings(1.0, seed=17)}}, None)
    assert block["speedup"] == {"onnxruntime": {"8": 1.0}}
    assert "speedup_interval" not in block


def test_the_summary_refuses_an_inverted_interval() -> None:
    with pytest.raises(ValueError, match="above"):
        RunSummary.model_validate(
            {"speedup_interval": {"torch": {"1": {"lo": 1.2, "hi": 1.1, "noise": False}}}})
    with pytest.raises(ValueError):
        RunSummary.model_validate(
            {"speedup_interval": {"torch": {"1": {"lo": 0.9, "hi": float("nan"),
                                                  "noise": True}}}})
