"""API tokens: random, shown once, stored as sha256; scopes read, write, worker, admin."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import ForbiddenError, NotFoundError, UnauthorizedError
from api.models import ApiToken, utcnow

SCOPES = ("read", "write", "worker", "admin")
# A scope grants itself and these; admin grants everything.
_IMPLIES = {"admin": set(SCOPES), "write": {"read"}, "worker": {"read"}, "read": set()}
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token (None when auth is off) and what it may do."""

    token_id: int | None
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise ForbiddenError(f"this token lacks the {scope!r} scope")


ANONYMOUS_ADMIN = Principal(None, frozenset(SCOPES))


def granted(scopes: list[str]) -> frozenset[str]:
    out: set[str] = set()
    for scope in scopes:
        out |= {scope} | _IMPLIES.get(scope, set())
    return frozenset(out)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token_text() -> str:
    return "sqz_" + secrets.token_urlsafe(32)


def create_token(session: Session, name: str, scopes: list[str],
                 text: str | None = None) -> tuple[ApiToken, str]:
    """Store a new token; returns it with its text, which is never retrievable again."""
    text = text or new_token_text()
    token = ApiToken(name=name, token_hash=hash_token(text), prefix=text[:8],
                     scopes=sorted(set(scopes)))
    session.add(token)
    session.commit()
    return token, text


def ensure_admin_token(session: Session, text: str) -> None:
    """Store ``text`` as an admin token unless it is already stored (startup bootstrap)."""
    digest = hash_token(text)
    if session.scalar(select(ApiToken.id).where(ApiToken.token_hash == digest)) is None:
        create_token(session, "bootstrap-admin", ["admin"], text)


def authenticate(session: Session, header: str | None) -> Principal:
    """The principal behind an ``Authorization: Bearer <token>`` header, or 401."""
    scheme, _, text = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not text.strip():
        raise UnauthorizedError("send an API token as 'Authorization: Bearer <token>'")
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(text.strip())))
    if token is None or token.revoked_at is not None:
        raise UnauthorizedError("the API token is unknown or revoked")
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY:
        token.last_used_at = now
        session.commit()
    return Principal(token.id, granted(token.scopes))


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke_token(session: Session, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError("token", token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.commit()
