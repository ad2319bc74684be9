"""Versions: squeezelab's own, and those of the libraries that produced a run's figures.

The API reports its version on /healthz, workers send theirs when they register, and every
run summary records ``EngineVersions``, so results from different code can be told apart
(and a result cache can key on them). Torch-free: the API and the CLI read it too.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import metadata
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DISTRIBUTION = "squeezelab"
UNKNOWN = "0+unknown"


@functools.cache
def squeezelab_version() -> str:
    """The installed distribution's version; in a checkout that was never installed,
    the one pyproject.toml declares."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return checkout_version(Path(__file__).resolve().parents[2] / "pyproject.toml")


def checkout_version(pyproject: Path) -> str:
    """``project.version`` of ``pyproject``, or ``0+unknown`` when it has none to read."""
    try:
        version = tomllib.loads(pyproject.read_text())["project"]["version"]
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError):
        return UNKNOWN
    return str(version)


def distribution_version(name: str) -> str | None:
    """An installed distribution's version without importing it (None when absent)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


class EngineVersions(BaseModel):
    """The versions of squeezelab and the libraries that trained and measured a run."""

    # Extra keys are kept: a newer worker may record more libraries than this model names.
    model_config = ConfigDict(extra="allow", frozen=True)

    squeezelab: str = Field(examples=["0.1.0"])
    torch: str = Field(examples=["2.13.0+cpu"])
    transformers: str | None = Field(default=None, description="when installed",
                                     examples=["4.57.1"])
    onnxruntime: str | None = Field(default=None, description="when installed",
                                    examples=["1.23.2"])
