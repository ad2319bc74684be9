"""/api/v1/tokens: create, list and revoke API tokens (admin scope)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import Admin, SessionDep
from api.models import ApiToken
from api.schemas.common import IdPath
from api.schemas.tokens import TokenCreate, TokenCreated, TokenPublic, TokensPublic
from api.services import tokens as service

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])


def _public(token: ApiToken) -> TokenPublic:
    return TokenPublic(id=token.id, name=token.name, prefix=service.hash_prefix(token),
                       scopes=token.scopes, created_at=token.created_at,
                       last_used_at=token.last_used_at, revoked_at=token.revoked_at)


@router.post("", status_code=201, summary="Create a token; its text is shown once")
def create(body: TokenCreate, _: Admin, session: SessionDep) -> TokenCreated:
    token, text = service.create_token(session, body.name, list(body.scopes))
    return TokenCreated(**_public(token).model_dump(), token=text)


@router.get("", summary="List tokens (never their text)")
def list_(_: Admin, session: SessionDep) -> TokensPublic:
    return TokensPublic(items=[_public(t) for t in service.list_tokens(session)])


@router.delete("/{token_id}", status_code=204, summary="Revoke a token")
def revoke(token_id: IdPath, _: Admin, session: SessionDep) -> Response:
    service.revoke_token(session, token_id)
    return Response(status_code=204)
