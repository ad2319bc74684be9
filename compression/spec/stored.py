"""Reading a stored run config back: migrate an older spec version, refuse a newer one.

The API stores each run's ``RunConfig`` as JSON when the sweep is submitted; a worker reads
it later, possibly after an upgrade on either side. A config this worker cannot read is a
``StoredConfigError``: not retried (another attempt would read the same JSON), and its
message says what to upgrade.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from compression.errors import CompressionError
from compression.spec.models import SPEC_VERSION
from compression.spec.parse import field_errors
from compression.spec.runs import RunConfig


class StoredConfigError(CompressionError):
    """A stored run config that this version of squeezelab cannot execute."""


def _from_v1(data: dict[str, Any]) -> dict[str, Any]:
    # Version 2 only added fields, each with a default that means what version 1 did.
    return {**data, "version": 2}


# version -> the step that turns a config of that version into the next one
_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _from_v1}


def load_run_config(data: Mapping[str, Any]) -> RunConfig:
    """The ``RunConfig`` stored as ``data``, migrated to ``SPEC_VERSION``.

    A config without a version is version 1 (written before versions existed).
    """
    if not isinstance(data, Mapping):
        raise StoredConfigError(f"a stored run config is a JSON object, not {type(data).__name__}")
    config = dict(data)
    version = config.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise StoredConfigError(f"stored run config has an invalid version {version!r}")
    if version > SPEC_VERSION:
        raise StoredConfigError(
            f"this run's config is spec version {version}, and this squeezelab reads versions "
            f"up to {SPEC_VERSION}: upgrade squeezelab on the workers")
    while version < SPEC_VERSION:
        config = _MIGRATIONS[version](config)
        version = config["version"]
    try:
        return RunConfig.model_validate(config)
    except ValidationError as exc:
        problems = "; ".join(f"{e.pointer or '/'}: {e.message}" for e in field_errors(exc))
        raise StoredConfigError(
            f"stored run config (spec version {data.get('version', 1)}) does not validate: "
            f"{problems}") from None
