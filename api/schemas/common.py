"""Types shared by several resources."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import ConfigDict
from pydantic.config import JsonDict

MAX_ID = 2**31 - 1  # ids are 32-bit integer keys on every backend
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int, Query(ge=1, le=MAX_ID)]


def example(value: JsonDict) -> ConfigDict:
    """A model config whose JSON schema (and so OpenAPI) carries ``value`` as its example."""
    return ConfigDict(json_schema_extra={"examples": [value]})
