"""Opaque cursors: base64url JSON, so clients cannot depend on what is inside."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from api.errors import InvalidInputError, Violation

# Every cursor value is an id or an offset: a non-negative integer a 32-bit column holds.
_MAX_VALUE = 2**31 - 1


def _position(value: Any) -> bool:
    # bool is an int subclass: {"after": true} must not reach the database as a boolean.
    return type(value) is int and 0 <= value <= _MAX_VALUE


def encode_cursor(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *keys: str) -> dict[str, Any] | None:
    """The cursor's data; a cursor that is not ours, or lacks ``keys`` (each a position:
    an integer from 0 to 2**31 - 1), is a 422."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or not all(_position(data.get(k)) for k in keys):
        raise InvalidInputError("invalid cursor", [Violation("query:/cursor",
                                                             "not a cursor from this API")])
    return data
