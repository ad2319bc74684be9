"""/api/v1/tokens: create, list and revoke API tokens (admin scope)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import Admin, SessionDep
from api.schemas.common import IdPath
from api.schemas.tokens import TokenCreate, TokenCreated, TokenPublic, TokensPublic
from api.services import tokens as service

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])


@router.post("", status_code=201, summary="Create a token; its text is shown once")
def create(body: TokenCreate, _: Admin, session: SessionDep) -> TokenCreated:
    token, text = service.create_token(session, body.name, list(body.scopes))
    return TokenCreated(**TokenPublic.model_validate(token, from_attributes=True).model_dump(),
                        token=text)


@router.get("", summary="List tokens (never their text)")
def list_(_: Admin, session: SessionDep) -> TokensPublic:
    return TokensPublic(items=[TokenPublic.model_validate(t, from_attributes=True)
                               for t in service.list_tokens(session)])


@router.delete("/{token_id}", status_code=204, summary="Revoke a token")
def revoke(token_id: IdPath, _: Admin, session: SessionDep) -> Response:
    service.revoke_token(session, token_id)
    return Response(status_code=204)
