"""Typed errors of the SDK: a problem+json response becomes an ``ApiError`` subclass."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

import httpx


class SqueezelabError(Exception):
    """Base class of every error the SDK raises."""


class ApiConnectionError(SqueezelabError):
    """The API could not be reached (after the retries an idempotent call is allowed)."""


@dataclass(frozen=True)
class FieldError:
    """One invalid field: ``pointer`` is a JSON pointer such as ``/recipes/0/schedule``."""

    pointer: str
    detail: str


class ApiError(SqueezelabError):
    """An error response of the API (RFC 9457 problem+json, or a bare HTTP error)."""

    def __init__(self, status: int, title: str, detail: str = "", *, type_: str = "about:blank",
                 instance: str = "", request_id: str = "",
                 errors: list[FieldError] | None = None) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.instance = instance
        self.request_id = request_id
        self.errors = errors or []
        lines = [f"{status} {title}: {detail}".rstrip(": ")]
        lines += [f"  {e.pointer or '/'}: {e.detail}" for e in self.errors]
        super().__init__("\n".join(lines))


class AuthError(ApiError):
    """401 (no or bad token) or 403 (the token lacks the scope)."""


class NotFoundError(ApiError):
    """404: the sweep, run, artifact or token does not exist."""


class ConflictError(ApiError):
    """409: an illegal state transition, or a lease held by another worker."""


class ValidationError(ApiError):
    """422: the request (e.g. a sweep spec) is invalid; ``errors`` points at each field."""


_BY_STATUS: dict[int, type[ApiError]] = {401: AuthError, 403: AuthError, 404: NotFoundError,
                                         409: ConflictError, 422: ValidationError}


def error_from_response(response: httpx.Response) -> ApiError:
    """Build the typed error for a 4xx/5xx response (the body must already be read)."""
    body: Any = None
    with contextlib.suppress(ValueError):
        body = json.loads(response.content)
    cls = _BY_STATUS.get(response.status_code, ApiError)
    if not isinstance(body, dict):
        return cls(response.status_code, response.reason_phrase or "HTTP error",
                   response.text[:500])
    errors = [FieldError(str(e.get("pointer", "")), str(e.get("detail", "")))
              for e in body.get("errors") or [] if isinstance(e, dict)]
    return cls(response.status_code, str(body.get("title") or response.reason_phrase),
               str(body.get("detail") or ""), type_=str(body.get("type") or "about:blank"),
               instance=str(body.get("instance") or ""),
               request_id=str(body.get("request_id") or ""), errors=errors)
