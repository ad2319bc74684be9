"""The one place where errors become ``application/problem+json`` (RFC 9457) responses."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Send

from api.errors import ApiError, InvalidInputError, Violation
from compression.errors import InvalidSpecError, SweepTooLargeError

log = logging.getLogger("squeezelab.api")
PROBLEM = "application/problem+json"
TYPE_BASE = "https://squeezelab.dev/problems/"


def problem_body(status: int, slug: str, title: str, detail: str, instance: str,
                 request_id: str, violations: list[Violation] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": title, "status": status,
                            "detail": detail, "instance": instance, "request_id": request_id}
    if violations:
        body["errors"] = [{"pointer": v.pointer, "detail": v.message} for v in violations]
    return body


def problem_bytes(status: int, slug: str, title: str, detail: str, instance: str,
                  request_id: str) -> bytes:
    """A problem body for middleware that answers before the app runs."""
    return json.dumps(problem_body(status, slug, title, detail, instance, request_id)).encode()


async def send_problem(send: Send, status: int, slug: str, title: str, detail: str,
                       instance: str, request_id: str,
                       headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    """Answer with a problem body straight through ASGI ``send``: for middleware that
    answers before the app runs (``headers`` adds e.g. ``Retry-After``)."""
    body = problem_bytes(status, slug, title, detail, instance, request_id)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM.encode()),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


def _request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", ""))


def _respond(request: Request, status: int, slug: str, title: str, detail: str,
             violations: list[Violation] | None = None,
             headers: dict[str, str] | None = None) -> JSONResponse:
    rid = _request_id(request)
    body = problem_body(status, slug, title, detail, request.url.path, rid, violations)
    return JSONResponse(body, status_code=status, media_type=PROBLEM,
                        headers={**(headers or {}), "X-Request-ID": rid})


def pointer(loc: tuple[int | str, ...] | list[int | str]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in loc)


def _validation_violations(exc: RequestValidationError) -> list[Violation]:
    violations = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        # The first element says where the value came from (body, query, path, header).
        where = f"{loc[0]}:" if loc and loc[0] != "body" else ""
        violations.append(Violation(where + pointer(loc[1:]), str(err.get("msg", "invalid"))))
    return violations


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    headers = ({"WWW-Authenticate": "Bearer"} if exc.status == 401 else
               {"Retry-After": "5"} if exc.status == 503 else None)
    return _respond(request, exc.status, exc.slug, exc.title, exc.detail, exc.violations,
                    headers)


async def _invalid_spec(request: Request, exc: InvalidSpecError) -> JSONResponse:
    violations = [Violation(e.pointer, e.message) for e in exc.errors]
    if isinstance(exc, SweepTooLargeError):
        return _respond(request, 422, "sweep-too-large", "Sweep too large",
                        f"the sweep expands to {exc.run_count:,} runs; the limit is "
                        f"{exc.limit:,} (fewer seeds or shorter grid axes)", violations)
    return _respond(request, 422, "invalid-spec", "Invalid sweep spec",
                    f"the sweep spec has {len(violations)} invalid field(s)", violations)


async def _request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    err = InvalidInputError("the request does not match the schema",
                            _validation_violations(exc))
    return await _api_error(request, err)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return _respond(request, exc.status_code, slug, title, str(exc.detail), headers=headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    """Every method some route of this path takes (Starlette lists only the first route's).

    Each method is tried against the router's own matching (``Route.matches`` with the
    method swapped in), so routes inside included routers count too, and the dashboard's
    catch-all, which declines API paths, adds nothing to them."""
    methods = {method for method in _METHODS for route in request.app.router.routes
               if route.matches({**request.scope, "method": method})[0] == Match.FULL}
    return ", ".join(sorted(methods))


# SQLSTATEs that say the database cannot serve now, not that the request is wrong: a
# connection failure (08), too many clients or other exhausted resources (53), a statement
# cancelled by statement_timeout or lock_timeout (57014, 55P03), a server shutting down or
# starting (57P01-57P03).
_UNAVAILABLE_STATES = ("08", "53", "57014", "55P03", "57P01", "57P02", "57P03")


def _unavailable(exc: DBAPIError) -> bool:
    state = getattr(exc.orig, "sqlstate", None) or ""
    return (exc.connection_invalidated or "connect" in str(exc.orig).lower()
            or state.startswith(_UNAVAILABLE_STATES))


async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
    if _unavailable(exc):
        log.warning("database unavailable (request %s): %s", _request_id(request),
                    str(exc.orig).splitlines()[0] if str(exc.orig) else type(exc.orig))
        return _respond(request, 503, "unavailable", "Service unavailable",
                        "the database is unavailable or too slow; retry later",
                        headers={"Retry-After": "5"})
    return await _unexpected(request, exc)


async def _pool_exhausted(request: Request, _: PoolTimeoutError) -> JSONResponse:
    log.warning("no database connection free within the pool timeout (request %s)",
                _request_id(request))
    return _respond(request, 503, "unavailable", "Service unavailable",
                    "no database connection came free in time; retry later",
                    headers={"Retry-After": "1"})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error (request %s)", _request_id(request), exc_info=exc)
    return _respond(request, 500, "internal", "Internal server error",
                    "an unexpected error occurred; quote the request id when reporting it")


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error the app can raise to problem+json, once."""
    handlers: list[tuple[type[Exception], Any]] = [
        (ApiError, _api_error), (InvalidSpecError, _invalid_spec),
        (RequestValidationError, _request_validation), (StarletteHTTPException, _http_error),
        (DBAPIError, _database_error), (PoolTimeoutError, _pool_exhausted),
        (Exception, _unexpected)]
    for exc_class, handler in handlers:
        app.exception_handler(exc_class)(handler)
