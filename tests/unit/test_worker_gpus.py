"""``squeezelab worker --gpus``: one pinned process per GPU, supervised as a set."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from squeezelab.cli import app
from workers.gpus import PinnedWorker, parse_gpus, pinned_workers, supervise

pytestmark = pytest.mark.unit


def test_gpu_lists_are_parsed_strictly() -> None:
    assert parse_gpus("0,1") == [0, 1] and parse_gpus(" 3 ") == [3]
    for bad in ("", "0,", "a", "0;1", "0,0", "-1", "0\n"):
        with pytest.raises(ValueError):
            parse_gpus(bad)


def test_each_process_sees_only_its_own_device() -> None:
    workers = pinned_workers([0, 2], queues=["gpu"], name="box", base_env={"PATH": "/bin"})
    assert [w.env["CUDA_VISIBLE_DEVICES"] for w in workers] == ["0", "2"]
    assert workers[1].argv[-6:] == ["--queues", "gpu", "--concurrency", "1", "--name",
                                    "box-cuda2"]
    assert all(w.env["PATH"] == "/bin" for w in workers)


def test_when_one_process_ends_the_set_stops_with_its_status(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    code = ("import os, sys, time; open(sys.argv[1], 'a').write(os.environ"
            "['CUDA_VISIBLE_DEVICES'] + '\\n'); time.sleep(float(sys.argv[2])); sys.exit(3)")
    workers = [PinnedWorker(gpu, [sys.executable, "-c", code, str(seen), delay],
                            {"CUDA_VISIBLE_DEVICES": str(gpu)})
               for gpu, delay in ((0, "0.5"), (1, "60"))]
    started = time.monotonic()
    assert supervise(workers, poll_s=0.05) == 3
    assert time.monotonic() - started < 30  # the sleeping one was stopped, not waited for
    assert sorted(seen.read_text().split()) == ["0", "1"]


def test_bad_gpu_options_are_refused() -> None:
    result = CliRunner().invoke(app, ["worker", "--gpus", "0,0"])
    assert result.exit_code == 2 and "names a device twice" in result.output
    result = CliRunner().invoke(app, ["worker", "--gpus", "0", "--concurrency", "2"])
    assert result.exit_code == 2 and "one process per GPU" in result.output
