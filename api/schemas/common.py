"""Types shared by several resources."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import BeforeValidator, ConfigDict
from pydantic.config import JsonDict
from pydantic_core import PydanticCustomError

MAX_ID = 2**31 - 1  # ids are 32-bit integer keys on every backend
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int, Query(ge=1, le=MAX_ID)]

# A page cursor is opaque base64url text that only the API makes: the format names it so
# that a client (or a fuzzer) knows to pass a next_cursor back rather than invent one.
CURSOR_FORMAT = "squeezelab-cursor"
CursorQuery = Annotated[str | None, Query(
    max_length=200, pattern=r"^[A-Za-z0-9_\-]*$", json_schema_extra={"format": CURSOR_FORMAT},
    description="the previous page's next_cursor; a cursor the API did not hand out is a 422")]

# A stored file's name (artifacts, uploads), as api.services.artifacts and .uploads check it:
# no ".." anywhere, said without a lookahead (a dot is followed by a non-dot or ends the name).
FILE_NAME_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9_\-]|\.[A-Za-z0-9_\-])*\.?$"


def _json_integer(value: object) -> object:
    if isinstance(value, bool | str):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


# JSON Schema's integer: 3 and 3.0, never true or "3". Pydantic's lax mode takes all four,
# its strict mode refuses 3.0: use with Field(strict=False) in a strict request model.
JSON_INTEGER = BeforeValidator(_json_integer)


def example(value: JsonDict) -> ConfigDict:
    """A model config whose JSON schema (and so OpenAPI) carries ``value`` as its example."""
    return ConfigDict(json_schema_extra={"examples": [value]})


def request(value: JsonDict | None = None) -> ConfigDict:
    """A request body's model config: strict, so values have the types the document gives
    them (``0`` is no boolean, ``true`` and ``"5"`` no integer); ``value`` is its example."""
    return ConfigDict(strict=True, **example(value)) if value else ConfigDict(strict=True)
