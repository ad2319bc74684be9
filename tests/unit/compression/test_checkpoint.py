"""Checkpoints: a run killed after epoch k and resumed from its checkpoint replays exactly what
an uninterrupted run does, for the baseline and for each kind of pruning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from compression.checkpoint import TrainState, load_checkpoint, save_checkpoint
from compression.errors import ArtifactFormatError
from compression.measure import load_state
from compression.runner import Resumable, RunResult, execute_run
from compression.spec import RunConfig, expand, parse_spec

pytestmark = pytest.mark.unit
FAST_LATENCY = {"batch_sizes": [1], "warmup": 1, "repeats": 3, "runtimes": ["torch"]}
Points = dict[tuple[str, int], float]


class Killed(Exception):
    """Stands for the worker dying right after it saved a checkpoint."""


def configs(*recipes: dict[str, Any]) -> list[RunConfig]:
    return expand(parse_spec({
        "name": "ckpt", "task": "digits-mlp", "seeds": [0],
        "baseline": {"epochs": 3, "optimizer": {"lr": 3e-3}, "lr_schedule": "cosine"},
        "recipes": list(recipes), "measure": {"latency": FAST_LATENCY},
    }))


def run(config: RunConfig, workdir: Path, baseline: Path | None = None, *,
        kill_after: int | None = None, resume: TrainState | None = None,
        ) -> tuple[Points, RunResult | None, list[TrainState]]:
    points: Points = {}
    saved: list[TrainState] = []

    def save(state: TrainState) -> None:
        saved.append(load_checkpoint(save_checkpoint(state, workdir / "checkpoint.pt")))
        if kill_after is not None and state.epoch == kill_after:
            raise Killed

    def emit(key: str, step: int, value: float) -> None:
        assert (key, step) not in points, f"{key} step {step} emitted twice"
        points[(key, step)] = value

    try:
        result = execute_run(config, workdir=workdir, emit=emit, baseline_weights=baseline,
                             checkpoints=Resumable(resume=resume, save=save))
    except Killed:
        return points, None, saved
    return points, result, saved


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    _, result, saved = run(configs()[0], tmp_path_factory.mktemp("base"))
    assert result is not None and [s.epoch for s in saved] == [1, 2, 3]
    return result


def assert_resumes_exactly(config: RunConfig, tmp_path: Path, baseline: Path | None,
                           kill_after: int) -> dict[str, Any]:
    whole, result, _ = run(config, tmp_path / "whole", baseline)
    first, killed, saved = run(config, tmp_path / "first", baseline, kill_after=kill_after)
    assert killed is None and saved[-1].epoch == kill_after
    resumed_from = load_checkpoint(tmp_path / "first" / "checkpoint.pt")
    second, finished, _ = run(config, tmp_path / "second", baseline, resume=resumed_from)
    assert result is not None and finished is not None
    # Together the two attempts cover every step once (the second starts after the
    # checkpoint), with the values of the uninterrupted run.
    assert set(first) | set(second) == set(whole)
    assert not set(first) & set(second)
    assert min(step for _, step in second) == resumed_from.step
    for key, value in {**first, **second}.items():
        assert value == pytest.approx(whole[key], rel=1e-5, abs=1e-6), key
    assert finished.summary.to_json()["accuracy"] == result.summary.to_json()["accuracy"]
    a, b = load_state(result.weights), load_state(finished.weights)
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    return finished.summary.to_json()


def test_baseline_resumes_mid_training(tmp_path: Path) -> None:
    assert_resumes_exactly(configs()[0], tmp_path, None, kill_after=1)


def test_agp_resumes_with_its_masks_and_target(baseline: RunResult, tmp_path: Path) -> None:
    config = configs({"name": "agp", "prune": {"granularity": "unstructured", "scope": "global"},
                      "schedule": {"kind": "agp", "final_sparsity": 0.8, "end_epoch": 2,
                                   "frequency": 5},
                      "finetune": {"epochs": 3, "optimizer": {"lr": 1e-3}}})[1]
    summary = assert_resumes_exactly(config, tmp_path, baseline.weights, kill_after=1)
    assert summary["pruning"]["achieved"] == pytest.approx(0.8, abs=1e-3)


def test_channel_pruned_checkpoint_resumes_at_its_width(baseline: RunResult,
                                                        tmp_path: Path) -> None:
    config = configs({"name": "ch", "prune": {"granularity": "channel"},
                      "schedule": {"kind": "iterative", "final_sparsity": 0.5, "steps": 2,
                                   "epochs_per_step": 1},
                      "finetune": {"epochs": 1, "optimizer": {"lr": 1e-3}}})[1]
    summary = assert_resumes_exactly(config, tmp_path, baseline.weights, kill_after=1)
    assert summary["params_total"] < baseline.summary.to_json()["params_total"] * 0.6


def test_nm_resumes_with_the_same_pattern(baseline: RunResult, tmp_path: Path) -> None:
    config = configs({"name": "nm", "prune": {"granularity": "nm", "n": 2, "m": 4},
                      "schedule": {"kind": "one_shot"},
                      "finetune": {"epochs": 2, "optimizer": {"lr": 1e-3}}})[1]
    summary = assert_resumes_exactly(config, tmp_path, baseline.weights, kill_after=1)
    assert summary["sparsity"] == pytest.approx(0.5, abs=1e-3)


def test_a_checkpoint_of_another_phase_or_format_is_refused(tmp_path: Path,
                                                           baseline: RunResult) -> None:
    _, _, saved = run(configs()[0], tmp_path / "b", kill_after=1)
    config = configs({"name": "os", "prune": {"granularity": "unstructured"},
                      "schedule": {"kind": "one_shot", "final_sparsity": 0.5},
                      "finetune": {"epochs": 2}})[1]
    with pytest.raises(Exception, match="baseline checkpoint cannot resume finetune"):
        run(config, tmp_path / "c", baseline.weights, resume=saved[0])
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ArtifactFormatError):
        load_checkpoint(junk)
