"""Remote commands without an API: one clear line and exit 2, never a traceback."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from squeezelab.cli import app

pytestmark = pytest.mark.unit


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # nothing listens once the socket is closed


@pytest.mark.parametrize("args", [["status", "1"], ["runs", "1"], ["logs", "3"],
                                  ["cancel", "--run", "3"], ["token", "list"]])
def test_an_unreachable_api_is_one_line_and_exit_2(args: list[str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = CliRunner().invoke(app, args, env={"SQUEEZELAB_API_URL": url,
                                                "SQUEEZELAB_TOKEN": "", "COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    assert f"cannot reach the API at {url}" in result.output
    assert "squeezelab up" in result.output
    assert "Traceback" not in result.output and result.exception is not None
    assert isinstance(result.exception, SystemExit)


def test_cancel_needs_exactly_one_target() -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["cancel"]).exit_code == 2
    both = runner.invoke(app, ["cancel", "1", "--run", "2"])
    assert both.exit_code == 2 and "one of them" in both.output
