"""FastAPI dependencies as ``Annotated`` aliases: settings, session, effects, auth."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.db import Database
from api.services.context import Effects
from api.services.tokens import ANONYMOUS_ADMIN, Principal, authenticate
from api.settings import Settings

log = logging.getLogger("squeezelab.api")

async def app_settings(request: Request) -> Settings:
    """The app's settings (``create_app``'s), read on the event loop: no thread hop."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(app_settings)]


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session: made on the event loop (no I/O until first used), used by the
    synchronous handler in a worker thread, and closed after the response, in a thread only
    when closing talks to the database."""
    db: Database = request.app.state.db
    session = db.sessions()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(_close, session)
        else:
            _close(session)


def _close(session: Session) -> None:
    # Closing rolls back what the request left open; it runs after the response has gone
    # out, so a database that vanished meanwhile must not raise here (the connection is
    # invalidated either way, and the client's keep-alive kept).
    try:
        session.close()
    except SQLAlchemyError as exc:
        log.warning("closing a request's session failed: %s", exc)


SessionDep = Annotated[Session, Depends(get_session)]


async def get_effects(request: Request, settings: SettingsDep) -> Effects:
    return Effects(settings, request.app.state.enqueuer, request.app.state.events)


EffectsDep = Annotated[Effects, Depends(get_effects)]


def require(scope: str, *, release: bool = False) -> Callable[..., Principal]:
    """A dependency that authenticates the caller and checks ``scope`` (401/403).

    release: end the read transaction, so that the connection goes back to the pool, for
    routes that then stream for long (event streams, uploads) and must not hold a pooled
    connection "idle in transaction" meanwhile. Other routes go on in the same transaction
    on the same connection: one checkout and one ping per request, not two."""

    def check(request: Request, settings: SettingsDep, session: SessionDep) -> Principal:
        if settings.auth == "off":
            return ANONYMOUS_ADMIN
        principal = authenticate(session, request.headers.get("authorization"))
        if release:
            session.commit()
        principal.require(scope)
        return principal

    return check


Reader = Annotated[Principal, Depends(require("read"))]
Writer = Annotated[Principal, Depends(require("write"))]
WorkerAuth = Annotated[Principal, Depends(require("worker"))]
Admin = Annotated[Principal, Depends(require("admin"))]
# The same, for the streaming routes (see ``require``'s release).
StreamReader = Annotated[Principal, Depends(require("read", release=True))]
StreamWriter = Annotated[Principal, Depends(require("write", release=True))]
StreamWorker = Annotated[Principal, Depends(require("worker", release=True))]
