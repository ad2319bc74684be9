"""/api/v1/triggers: CI rules that turn webhook deliveries into sweeps. Secrets and status
tokens are write-only: no response carries them (a generated secret is shown once)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.deps import Admin, Reader, SessionDep, SettingsDep
from api.models import Trigger
from api.schemas.common import IdPath
from api.schemas.triggers import (
    StatusReportingPublic,
    TriggerCreate,
    TriggerCreated,
    TriggerPublic,
    TriggersPublic,
    TriggerUpdate,
)
from api.services import triggers as service

router = APIRouter(prefix="/api/v1/triggers", tags=["triggers"])
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "invalid trigger, or a template that is not a valid sweep spec "
          "(pointers under /template)"}}


def _public(trigger: Trigger) -> dict[str, Any]:
    statuses = None
    if trigger.status_api:
        statuses = StatusReportingPublic.model_validate({
            "api": trigger.status_api, "api_base": trigger.status_api_base or "",
            "has_token": bool(trigger.status_token)})
    return {"id": trigger.id, "name": trigger.name, "provider": trigger.provider,
            "repository": trigger.repository, "events": trigger.events,
            "branches": trigger.branches, "template": trigger.template,
            "enabled": trigger.enabled, "has_secret": bool(trigger.secret),
            "statuses": statuses, "created_at": trigger.created_at,
            "updated_at": trigger.updated_at}


@router.post("", status_code=201, responses=INVALID,
             summary="Create a trigger; a generated secret is shown once")
def create(body: TriggerCreate, _: Admin, session: SessionDep,
           settings: SettingsDep) -> TriggerCreated:
    trigger, generated = service.create_trigger(session, body, settings.max_runs)
    return TriggerCreated.model_validate({**_public(trigger), "secret": generated})


@router.get("", summary="List triggers (never their secrets or tokens)")
def list_(_: Reader, session: SessionDep) -> TriggersPublic:
    return TriggersPublic(items=[TriggerPublic.model_validate(_public(t))
                                 for t in service.list_triggers(session)])


@router.get("/{trigger_id}", summary="Get a trigger (never its secret or token)")
def get(trigger_id: IdPath, _: Reader, session: SessionDep) -> TriggerPublic:
    return TriggerPublic.model_validate(_public(service.get_trigger(session, trigger_id)))


@router.patch("/{trigger_id}", responses=INVALID,
              summary="Change a trigger; fields left out stay as they are")
def update(trigger_id: IdPath, body: TriggerUpdate, _: Admin, session: SessionDep,
           settings: SettingsDep) -> TriggerPublic:
    return TriggerPublic.model_validate(
        _public(service.update_trigger(session, trigger_id, body, settings.max_runs)))


@router.delete("/{trigger_id}", status_code=204, summary="Delete a trigger")
def delete(trigger_id: IdPath, _: Admin, session: SessionDep) -> Response:
    service.delete_trigger(session, trigger_id)
    return Response(status_code=204)
