"""Migrating the database with Alembic, configured in code rather than by an alembic.ini.

The migrations are package data of ``api`` (``api/migrations``), which Alembic finds
through importlib.resources, so an installed wheel migrates exactly as a source checkout
does. (The checkout's alembic.ini names the same folder, for ``alembic revision`` while
developing.)
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config

# "package:folder": resolved by Alembic with importlib.resources.files("api").
SCRIPT_LOCATION = "api:migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config for the database at ``url``, without a config file (so no logging
    setup either: the caller's logging stays as it is)."""
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    cfg.set_main_option("path_separator", "os")
    # ConfigParser interpolates '%': a URL-encoded password would otherwise break it.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    """``alembic upgrade head`` on ``url``."""
    command.upgrade(alembic_config(url), "head")
