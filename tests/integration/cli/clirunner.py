"""A CliRunner bound to a live API (imported by name from this folder)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from liveapi import ADMIN_TOKEN
from typer.testing import CliRunner, Result

from squeezelab.cli import app


class Cli:
    """Invokes ``squeezelab`` against ``live_api`` with the admin token (or ``token``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def __call__(self, *args: str, token: str = ADMIN_TOKEN,
                 env: Mapping[str, str | None] | None = None, **kwargs: Any) -> Result:
        """``env``: more variables for the command (None unsets one)."""
        env = {**(env or {}), "SQUEEZELAB_API_URL": self.url, "SQUEEZELAB_TOKEN": token}
        return self.runner.invoke(app, list(args), env=env, **kwargs)
