"""``squeezelab --version``: the installed version, printed without importing torch."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest
from typer.testing import CliRunner

from squeezelab.cli import app

pytestmark = pytest.mark.unit


def test_version_flag_prints_the_version_and_exits_0() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"squeezelab {metadata.version('squeezelab')}\n"


def test_version_flag_wins_over_a_command_and_loads_no_torch() -> None:
    code = ("import sys\n"
            "from squeezelab.cli import app\n"
            "try:\n"
            "    app(['--version', 'status', '1'])\n"
            "except SystemExit as exc:\n"
            "    assert exc.code == 0, exc.code\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"squeezelab {metadata.version('squeezelab')}"
