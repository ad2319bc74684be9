"""A worker's pool processes share the CPUs: torch threads = CPUs // concurrency."""

from __future__ import annotations

import pytest

from workers.main import torch_threads, usable_cpus
from workers.settings import WorkerSettings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("cpus", "concurrency", "expected"),
                         [(2, 1, 2), (2, 2, 1), (16, 4, 4), (16, 3, 5), (2, 8, 1)])
def test_an_equal_share_of_the_cpus_by_default(cpus: int, concurrency: int,
                                               expected: int) -> None:
    assert torch_threads(WorkerSettings(), concurrency, cpus) == expected


def test_the_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQUEEZELAB_TORCH_THREADS", "3")
    assert torch_threads(WorkerSettings(), 2, 2) == 3
    monkeypatch.setenv("SQUEEZELAB_TORCH_THREADS", "0")
    with pytest.raises(ValueError, match="torch_threads"):
        WorkerSettings()


def test_omp_num_threads_is_honoured_when_set() -> None:
    assert torch_threads(WorkerSettings(), 2, 16, omp="3") == 3
    for junk in ("", "0", "many", "²"):  # "²".isdigit() is true; int() refuses it
        assert torch_threads(WorkerSettings(), 2, 16, omp=junk) == 8


def test_usable_cpus_is_positive() -> None:
    assert usable_cpus() >= 1
