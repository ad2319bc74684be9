"""Typed errors raised by services; ``api.problems`` maps them once to problem+json."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    """One bad input field: a JSON pointer (RFC 6901) and what is wrong with it."""

    pointer: str
    message: str


class ApiError(Exception):
    """Base of every error the API reports on purpose; the message is shown to the client."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, violations: list[Violation] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.violations = violations or []


class NotFoundError(ApiError):
    status, slug, title = 404, "not-found", "Not found"

    def __init__(self, resource: str, ident: object) -> None:
        super().__init__(f"{resource} {ident} does not exist")


class ConflictError(ApiError):
    status, slug, title = 409, "conflict", "Conflict"


class IllegalTransitionError(ConflictError):
    slug, title = "illegal-transition", "Illegal state transition"

    def __init__(self, what: str, ident: int, state: str, action: str) -> None:
        super().__init__(f"{what} {ident} is {state}: cannot {action}")


class LeaseError(ConflictError):
    slug, title = "lease-conflict", "Lease held by another worker"


class InvalidInputError(ApiError):
    status, slug, title = 422, "invalid-input", "Invalid input"


class UnsupportedMediaTypeError(ApiError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class PayloadTooLargeError(ApiError):
    status, slug, title = 413, "payload-too-large", "Payload too large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body exceeds the limit of {limit} bytes")


class UnauthorizedError(ApiError):
    status, slug, title = 401, "unauthorized", "Unauthorized"


class ForbiddenError(ApiError):
    status, slug, title = 403, "forbidden", "Forbidden"


class UnavailableError(ApiError):
    status, slug, title = 503, "unavailable", "Service unavailable"
