"""Triggers: create, list, update, delete; which of them a CI event runs; their templates.

A template is a sweep spec whose string values may hold ``${sha}``, ``${ref}``, ``${repo}``
and ``${pr}``. Values are substituted into the decoded structure, never into YAML text, so
a ref cannot change the spec's shape. A template is checked when it is stored, rendered
with sample values, so a typo is a 422 at setup time rather than a failed delivery later.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.errors import InvalidInputError, NotFoundError, Violation
from api.models import Trigger
from api.schemas.triggers import StatusReporting, TriggerCreate, TriggerUpdate
from api.services.webhook_events import CiEvent
from compression.errors import InvalidSpecError
from compression.spec import SweepSpec, parse_spec
from compression.spec.limits import raw_errors
from compression.spec.template import render

DEFAULT_API_BASE = {"github": "https://api.github.com", "gitlab": "https://gitlab.com/api/v4"}
SAMPLE = CiEvent("push", "octo-org/example", "refs/heads/main",
                 "0123456789abcdef0123456789abcdef01234567", "main", "1")


def render_spec(template: Mapping[str, Any], event: CiEvent,
                max_runs: int) -> tuple[SweepSpec, dict[str, Any]]:
    """The spec a trigger's template gives for ``event``; raises ``InvalidSpecError`` (also
    ``SweepTooLargeError``: more than ``max_runs`` runs)."""
    errors = raw_errors(template)  # before render, which recurses once per level
    if errors:
        raise InvalidSpecError(errors)
    raw: dict[str, Any] = render(dict(template), event.variables())
    return parse_spec(raw, max_runs=max_runs), raw


def check_template(template: Mapping[str, Any], max_runs: int) -> None:
    """422 with a pointer under ``/template`` per bad field of the rendered sample."""
    try:
        render_spec(template, SAMPLE, max_runs)
    except InvalidSpecError as exc:
        raise InvalidInputError(
            "the template does not render to a valid sweep spec (checked with sample "
            f"values: sha {SAMPLE.sha}, ref {SAMPLE.ref}, repo {SAMPLE.repo}, pr {SAMPLE.pr})",
            [Violation("/template" + e.pointer, e.message) for e in exc.errors]) from None


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _set_statuses(trigger: Trigger, statuses: StatusReporting | None) -> None:
    if statuses is None:
        trigger.status_api = trigger.status_api_base = trigger.status_token = None
        return
    api = statuses.api or (trigger.provider if trigger.provider != "generic" else None)
    if api is None:
        raise InvalidInputError("a generic trigger must say which status API to use", [
            Violation("/statuses/api", "set github or gitlab")])
    trigger.status_api = api
    trigger.status_api_base = (statuses.api_base or DEFAULT_API_BASE[api]).rstrip("/")
    trigger.status_token = statuses.token.get_secret_value()


def create_trigger(session: Session, body: TriggerCreate,
                   max_runs: int) -> tuple[Trigger, str | None]:
    """Store a trigger; returns it with its secret when one was generated (shown once).
    max_runs: the most runs its template may expand to."""
    check_template(body.template, max_runs)
    generated = None if body.secret is not None else new_secret()
    secret = body.secret.get_secret_value() if body.secret is not None else generated
    trigger = Trigger(name=body.name, provider=body.provider, repository=body.repository,
                      events=list(dict.fromkeys(body.events)), branches=list(body.branches),
                      template=body.template, secret=secret, enabled=body.enabled)
    _set_statuses(trigger, body.statuses)
    session.add(trigger)
    session.commit()
    return trigger, generated


def list_triggers(session: Session) -> list[Trigger]:
    return list(session.scalars(select(Trigger).order_by(Trigger.id)))


def get_trigger(session: Session, trigger_id: int) -> Trigger:
    trigger = session.get(Trigger, trigger_id)
    if trigger is None:
        raise NotFoundError("trigger", trigger_id)
    return trigger


def update_trigger(session: Session, trigger_id: int, body: TriggerUpdate,
                   max_runs: int) -> Trigger:
    """Apply the fields the request set; ``statuses: null`` turns reporting off."""
    trigger = get_trigger(session, trigger_id)
    given = body.model_fields_set
    if body.template is not None:
        check_template(body.template, max_runs)
        trigger.template = body.template
    for field in ("name", "repository", "branches", "enabled"):
        value = getattr(body, field)
        if field in given and value is not None:
            setattr(trigger, field, value)
    if body.events is not None:
        trigger.events = list(dict.fromkeys(body.events))
    if body.secret is not None:
        trigger.secret = body.secret.get_secret_value()
    if "statuses" in given:
        _set_statuses(trigger, body.statuses)
    session.commit()
    return trigger


def delete_trigger(session: Session, trigger_id: int) -> None:
    """Delete a trigger; its sweeps stay, and their unsent statuses are given up."""
    session.delete(get_trigger(session, trigger_id))
    session.commit()


def candidates(session: Session, provider: str, repo: str) -> list[Trigger]:
    """The enabled triggers of ``provider`` for ``repo`` (names compare case-insensitively,
    as GitHub and GitLab resolve them)."""
    return list(session.scalars(select(Trigger).where(
        Trigger.provider == provider, Trigger.enabled.is_(True),
        func.lower(Trigger.repository) == repo.lower()).order_by(Trigger.id)))


def mismatch(trigger: Trigger, event: CiEvent) -> str | None:
    """Why ``trigger`` does not run on ``event``; None when it does."""
    label = f"trigger {trigger.id} ({trigger.name})"
    if event.kind not in trigger.events:
        return f"{label} runs on {', '.join(trigger.events)}, not {event.kind}"
    if event.kind in ("push", "pull_request") and trigger.branches and not any(
            fnmatchcase(event.branch or "", glob) for glob in trigger.branches):
        return (f"{label}: branch {event.branch or '?'} matches none of "
                f"{', '.join(trigger.branches)}")
    return None
