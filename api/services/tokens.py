"""API tokens: random, shown once, stored as sha256; scopes metrics, read, write, worker,
admin. A token is recognised by a prefix of its hash, never by characters of its text."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.errors import ForbiddenError, NotFoundError, UnauthorizedError
from api.models import ApiToken, utcnow

SCOPES = ("metrics", "read", "write", "worker", "admin")
# A scope grants itself and these; admin grants everything. "metrics" alone (a Prometheus
# scraper's token) reads /metrics and nothing else.
_IMPLIES = {"admin": set(SCOPES), "write": {"read", "metrics"},
            "worker": {"read", "metrics"}, "read": {"metrics"}, "metrics": set()}
# Hex digits of the sha256 shown to recognise a token: `printf %s "$TOKEN" | sha256sum`.
HASH_PREFIX_LEN = 12
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


def hash_prefix(token: ApiToken) -> str:
    """What lists show of a token: the start of its hash, read from the hash itself (rows
    from before migration 0009 held characters of the text in ``prefix``; 0009 rewrote
    them, and the column is still never shown)."""
    return token.token_hash[:HASH_PREFIX_LEN]


def new_token_text() -> str:
    return "sqz_" + secrets.token_urlsafe(32)


def create_token(session: Session, name: str, scopes: list[str],
                 text: str | None = None) -> tuple[ApiToken, str]:
    """Store a new token; returns it with its text, which is never retrievable again."""
    text = text or new_token_text()
    digest = hash_token(text)
    token = ApiToken(name=name, token_hash=digest, prefix=digest[:HASH_PREFIX_LEN],
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


def still_active(sessions: sessionmaker[Session], token_id: int) -> bool:
    """Whether the token is stored and not revoked, read in a short session of its own: an
    open SSE stream asks every few seconds and holds no connection in between."""
    with sessions() as session:
        row = session.execute(select(ApiToken.revoked_at).where(ApiToken.id == token_id)).first()
    return row is not None and row.revoked_at is None


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke_token(session: Session, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError("token", token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.commit()
