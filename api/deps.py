"""FastAPI dependencies as ``Annotated`` aliases: settings, session, effects, auth."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.db import Database
from api.services.context import Effects
from api.services.tokens import ANONYMOUS_ADMIN, Principal, authenticate
from api.settings import Settings, get_settings

SettingsDep = Annotated[Settings, Depends(get_settings)]


def _database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_session(request: Request) -> Iterator[Session]:
    with _database(request).session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_effects(request: Request, settings: SettingsDep) -> Effects:
    return Effects(settings, request.app.state.enqueuer, request.app.state.events)


EffectsDep = Annotated[Effects, Depends(get_effects)]


def require(scope: str) -> Callable[..., Principal]:
    """A dependency that authenticates the caller and checks ``scope`` (401/403)."""

    def check(request: Request, settings: SettingsDep, session: SessionDep) -> Principal:
        if settings.auth == "off":
            return ANONYMOUS_ADMIN
        principal = authenticate(session, request.headers.get("authorization"))
        # End the read transaction: a long response (the SSE stream) must not hold a
        # pooled connection "idle in transaction" while it runs.
        session.commit()
        principal.require(scope)
        return principal

    return check


Reader = Annotated[Principal, Depends(require("read"))]
Writer = Annotated[Principal, Depends(require("write"))]
WorkerAuth = Annotated[Principal, Depends(require("worker"))]
Admin = Annotated[Principal, Depends(require("admin"))]
