"""/api/v1/webhooks: GitHub, GitLab and generic deliveries (signed, not bearer-token
authenticated), the record of deliveries, and the commit statuses sent for CI sweeps."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import ValidationError

from api.deps import EffectsDep, Reader, SessionDep, SettingsDep
from api.errors import InvalidInputError, UnsupportedMediaTypeError, Violation
from api.models import CommitStatus, WebhookDelivery
from api.problems import pointer
from api.schemas.common import IdQuery
from api.schemas.webhooks import (
    CommitStatusesPublic,
    CommitStatusPublic,
    DeliveriesPublic,
    DeliveryPublic,
    DeliveryResult,
    GenericEvent,
)
from api.services import webhooks as service
from api.services.signatures import verify_generic, verify_github, verify_token
from api.services.statuses import list_statuses
from api.services.webhook_events import CiEvent, generic_event, github_event, gitlab_event

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": DeliveryResult, "description": "a ping, or a repeated delivery (no-op)"},
    202: {"model": DeliveryResult, "description": "authentic, but no trigger runs on it: "
          "`reason` says why"},
    401: {"description": "not authenticated (which part failed is not said)"},
    413: {"description": "the body is over the size limit"},
    415: {"description": "the body is not application/json"},
    422: {"description": "a required header is missing, or the payload is unusable"}}


# OpenAPI cannot say "one of these two headers": the description does.
DELIVERY_ID = ("the delivery's id: Idempotency-Key, else X-Gitlab-Webhook-UUID; a delivery "
               "with neither is a 422")


def _body_doc(component: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{component}"}}}}}


async def raw_body(request: Request) -> bytes:
    """The exact bytes that were signed (the size limit is the middleware's)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaTypeError("send the webhook as application/json (in GitHub's "
                                        "webhook settings: Content type application/json)")
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


def _answer(received: service.Received, response: Response) -> DeliveryResult:
    delivery = received.delivery
    response.status_code = (200 if received.duplicate or delivery.outcome == "ping" else
                            201 if delivery.outcome == "created" else 202)
    return DeliveryResult.model_validate({
        "provider": delivery.provider, "delivery_id": delivery.delivery_id,
        "event": delivery.event, "outcome": delivery.outcome, "duplicate": received.duplicate,
        "reason": delivery.reason, "sweep_ids": delivery.sweep_ids})


@router.post("/github", status_code=201, responses=RESPONSES,
             openapi_extra=_body_doc("GitHubPayload"),
             summary="A GitHub delivery (X-Hub-Signature-256 over the raw body)")
def github(
    body: RawBody, session: SessionDep, fx: EffectsDep, response: Response,
    x_github_event: Annotated[str, Header(min_length=1, max_length=64)],
    x_github_delivery: Annotated[str, Header(min_length=1, max_length=128)],
    x_hub_signature_256: Annotated[str | None, Header()] = None,
) -> DeliveryResult:
    payload = service.decode_json(body)
    repo = service.payload_repo("github", payload)
    incoming = service.Incoming("github", x_github_delivery, x_github_event, repo,
                                lambda secret: verify_github(secret, body, x_hub_signature_256))

    def event() -> CiEvent:
        if x_github_event == "ping":
            return CiEvent("ping", repo)
        return github_event(x_github_event, repo, payload)

    return _answer(service.receive(session, fx, incoming, event), response)


@router.post("/gitlab", status_code=201, responses=RESPONSES,
             openapi_extra=_body_doc("GitLabPayload"),
             summary="A GitLab delivery (X-Gitlab-Token)")
def gitlab(
    body: RawBody, session: SessionDep, fx: EffectsDep, response: Response,
    x_gitlab_event: Annotated[str, Header(min_length=1, max_length=64)],
    x_gitlab_token: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header(
        min_length=1, max_length=128, description=DELIVERY_ID,
        examples=["f4b3c2a1-0d9e-4b8a-9c7d-6e5f4a3b2c1d"])] = None,
    x_gitlab_webhook_uuid: Annotated[str | None, Header(
        min_length=1, max_length=128, description=DELIVERY_ID,
        examples=["2c8f3d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"])] = None,
) -> DeliveryResult:
    delivery_id = idempotency_key or x_gitlab_webhook_uuid
    if delivery_id is None:
        raise InvalidInputError("the delivery has no id", [
            Violation("header:/idempotency-key", "send Idempotency-Key or "
                      "X-Gitlab-Webhook-UUID")])
    payload = service.decode_json(body)
    repo = service.payload_repo("gitlab", payload)
    incoming = service.Incoming("gitlab", delivery_id, x_gitlab_event, repo,
                                lambda secret: verify_token(secret, x_gitlab_token))
    return _answer(service.receive(session, fx, incoming,
                                   lambda: gitlab_event(x_gitlab_event, repo, payload)),
                   response)


@router.post("/generic", status_code=201, responses=RESPONSES,
             openapi_extra=_body_doc("GenericEvent"),
             summary="A generic delivery (HMAC over timestamp.body, 5-minute tolerance)")
def generic(
    body: RawBody, session: SessionDep, fx: EffectsDep, settings: SettingsDep,
    response: Response,
    x_squeezelab_timestamp: Annotated[str | None, Header()] = None,
    x_squeezelab_signature: Annotated[str | None, Header()] = None,
) -> DeliveryResult:
    payload = service.decode_json(body)
    try:
        event = GenericEvent.model_validate(payload)
    except ValidationError as exc:
        raise InvalidInputError("the body does not match the generic webhook's schema", [
            Violation(pointer(e["loc"]), e["msg"]) for e in exc.errors()]) from None
    now = time.time()
    incoming = service.Incoming(
        "generic", event.delivery_id, event.event, event.repository,
        lambda secret: verify_generic(secret, body, x_squeezelab_timestamp,
                                      x_squeezelab_signature, now,
                                      settings.webhook_tolerance_s))
    return _answer(service.receive(session, fx, incoming, lambda: generic_event(event)),
                   response)


@router.get("/deliveries", summary="Authenticated deliveries, newest first")
def deliveries(
    _: Reader, session: SessionDep,
    provider: Literal["github", "gitlab", "generic"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveriesPublic:
    rows: list[WebhookDelivery] = service.list_deliveries(session, provider, limit)
    return DeliveriesPublic(items=[DeliveryPublic.model_validate(d, from_attributes=True)
                                   for d in rows])


@router.get("/statuses", summary="Commit statuses of CI sweeps and how sending them went")
def statuses(
    _: Reader, session: SessionDep, sweep_id: IdQuery | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> CommitStatusesPublic:
    rows: list[CommitStatus] = list_statuses(session, sweep_id, limit)
    return CommitStatusesPublic(items=[CommitStatusPublic.model_validate(s, from_attributes=True)
                                       for s in rows])
