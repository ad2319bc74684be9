"""What every command that talks to the API shares: where it is, the client, error messages.

Errors of the SDK become one readable line on stderr and an exit code, never a traceback:
2 when the request could not be made as asked (API unreachable, token missing or lacking a
scope, unknown id, invalid input), 1 when the API refused it (a conflict, a server error).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import typer
from rich.console import Console
from rich.markup import escape

from client import Client
from client.errors import (
    ApiConnectionError,
    ApiError,
    AuthError,
    NotFoundError,
    SqueezelabError,
    ValidationError,
)

DEFAULT_API_URL = "http://127.0.0.1:8000"

# Piped or in a CI log there is no terminal width: rich would assume 80 columns and squeeze
# the run names out of the results table, so use a wide fixed width unless COLUMNS says.
_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
# Tables and results go to stdout, so they can be piped; progress, notes and errors to stderr,
# where long lines stay whole.
out = Console(soft_wrap=True, width=_WIDTH)
err = Console(stderr=True, soft_wrap=True, width=_WIDTH)


@dataclass(frozen=True)
class Remote:
    """The API a command talks to (the global ``--api-url`` and ``--token`` options)."""

    api_url: str = DEFAULT_API_URL
    token: str | None = None

    def client(self) -> Client:
        """A client that gives up quickly: a person is waiting at the terminal."""
        return Client(self.api_url, self.token, timeout=10.0, retries=2, backoff_s=0.2,
                      max_backoff_s=2.0)


def remote(ctx: typer.Context) -> Remote:
    """The ``Remote`` the root callback stored (a default one when a test skips it)."""
    obj = ctx.find_object(Remote)
    return obj if obj is not None else Remote()


def connection_hint(url: str, exc: ApiConnectionError) -> str:
    """One line for an unreachable API, with the transport's reason and what to do."""
    reason = exc.__cause__ if exc.__cause__ is not None else exc
    return (f"cannot reach the API at {url}: {reason}; is it running? "
            "start it with `squeezelab up`")


def auth_hint(exc: AuthError) -> str:
    if exc.status == 403:
        return ("the token in SQUEEZELAB_TOKEN (or --token) lacks the scope this command "
                "needs; ask an admin for one with `squeezelab token create`")
    return "set SQUEEZELAB_TOKEN (or pass --token) to a valid API token"


@contextmanager
def api_errors(url: str) -> Iterator[None]:
    """Turn SDK errors raised inside the block into a message on stderr and an exit code."""
    try:
        yield
    except ApiConnectionError as exc:
        _fail(connection_hint(url, exc), 2)
    except AuthError as exc:
        _fail(f"{exc.status} {exc.title}: {exc.detail}; {auth_hint(exc)}", 2)
    except ValidationError as exc:
        err.print(f"[red]error:[/] {escape(exc.title)}: {escape(exc.detail)}")
        for field in exc.errors:
            err.print(f"  {escape(field.pointer or '/')}: {escape(field.detail)}")
        raise typer.Exit(2) from None
    except NotFoundError as exc:
        _fail(f"{exc.detail or exc.title}", 2)
    except ApiError as exc:
        _fail(f"{exc.status} {exc.title}: {exc.detail}", 1)
    except SqueezelabError as exc:
        _fail(str(exc), 1)


def _fail(message: str, code: int) -> None:
    err.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(code) from None

