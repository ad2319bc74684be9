"""One check on every JSON body that FastAPI decodes for a route: text PostgreSQL can store.

PostgreSQL text and JSONB hold neither a NUL character (``\\u0000``) nor a lone surrogate
(``\\ud800``-``\\udfff``, which is no character at all), so either one reaching a column or
a summary was a 500; models cannot say "no such character" once for every field and dict
key, so it is said here. Routes that read their body themselves check it there: a sweep
spec (``compression.spec.limits``), a metric batch (its only string, the key, has a
pattern), a webhook (its fields are extracted, and a bad one counts as absent), an upload
(bytes)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute

from api.errors import InvalidInputError, Violation
from api.problems import pointer

# Valid JSON holds either only as an escape (a surrogate's starts "\ud" or "\uD"): a body
# without these is cleared by a byte search, unparsed.
_ESCAPES = (b"\\u0000", b"\\ud", b"\\uD")
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
_MAX_REPORTED = 20


def _problem(text: str) -> str | None:
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "a NUL character (\\u0000) is not allowed"
    return "a lone surrogate (\\ud800-\\udfff) is not a character"


def unstorable_text(data: Any) -> list[Violation]:
    """A violation per string value or mapping key in ``data`` that holds a NUL or a lone
    surrogate, pointing at it (a key's pointer is the entry it names). Walked without
    recursion."""
    found: set[Violation] = set()
    stack: list[tuple[Any, tuple[int | str, ...]]] = [(data, ())]
    while stack and len(found) < _MAX_REPORTED:
        value, at = stack.pop()
        if isinstance(value, str):
            message = _problem(value)
            if message is not None:
                found.add(Violation(pointer(at), message))
        elif isinstance(value, dict):
            for key, item in value.items():
                stack.append((item, (*at, key)))
                stack.append((key, (*at, key)))
        elif isinstance(value, list):
            stack.extend((item, (*at, i)) for i, item in enumerate(value))
    return sorted(found, key=lambda v: v.pointer)


async def refuse_unstorable_text(request: Request) -> None:
    """App-wide dependency: a JSON body with a NUL or a lone surrogate anywhere is a 422
    naming each place.

    It runs before the route's own dependencies (authentication included), as FastAPI's
    refusal of malformed JSON does. The body was already read and decoded for the route,
    so a body without the escapes costs a byte search."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.body_field is None:
        return  # no body, or one the route reads and checks itself
    body = await request.body()
    if not any(escape in body for escape in _ESCAPES):
        return
    try:
        data = await request.json()  # cached: FastAPI decoded it for the route
    except (ValueError, RecursionError):
        return  # not JSON: the route's validation answers
    violations = unstorable_text(data)
    if violations:
        raise InvalidInputError("the request body holds text that cannot be stored (a NUL "
                                "character or a lone surrogate)", violations)
