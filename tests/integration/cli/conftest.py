"""Fixtures of the CLI tests: a CliRunner pointed at the live API (tests/integration/conftest.py)
and wide consoles so tables do not fold."""

from __future__ import annotations

import pytest
from clirunner import Cli
from liveapi import LiveApi

from squeezelab import remote


@pytest.fixture(autouse=True)
def wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    # The consoles are built at import; a runner's COLUMNS would come too late for them.
    for console in (remote.out, remote.err):
        monkeypatch.setattr(console, "_width", 250)


@pytest.fixture
def cli(live_api: LiveApi) -> Cli:
    return Cli(live_api.url)

