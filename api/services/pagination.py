"""Opaque cursors: base64url JSON, so clients cannot depend on what is inside."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from api.errors import InvalidInputError, Violation


def encode_cursor(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *keys: str) -> dict[str, Any] | None:
    """The cursor's data; a cursor that is not ours, or lacks ``keys``, is a 422."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), int) for k in keys):
        raise InvalidInputError("invalid cursor", [Violation("query:/cursor",
                                                             "not a cursor from this API")])
    return data
