"""Webhook deliveries: authenticate, record once, match triggers, create sweeps.

1. The payload names its repository; the enabled triggers of that provider and repository
   are the candidates, and the delivery is authentic when it verifies with a candidate's
   secret. Only the triggers whose secret verified it may run it: a delivery signed for one
   trigger cannot start another trigger's sweeps. Nothing is stored for a delivery that
   does not verify (it is logged): an anonymous sender can neither fill the table nor
   take a delivery id before the real delivery arrives.
2. The delivery is recorded under (provider, delivery id), unique. A repeat finds that
   record and creates nothing; the database's unique key decides, so two copies arriving at
   once still make one sweep.
3. The event is matched against the verified triggers (event kind, branch globs); each
   match renders its template with the event's sha, ref, repo and pr and creates a sweep
   tagged with them, which queues a pending commit status (api.services.statuses).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.errors import InvalidInputError, UnauthorizedError
from api.models import Trigger, WebhookDelivery
from api.services import triggers
from api.services.context import Effects
from api.services.sweeps import Provenance, create_sweep
from api.services.webhook_events import CiEvent, repository_of
from compression.errors import InvalidSpecError

log = logging.getLogger("squeezelab.api.webhooks")


class WebhookAuthError(UnauthorizedError):
    """One message for every way a delivery fails to authenticate, so a caller learns
    nothing about which part (header, secret, timestamp, repository) was wrong."""

    slug, title = "webhook-unauthorized", "Webhook not authenticated"

    def __init__(self) -> None:
        super().__init__("the webhook delivery could not be authenticated")


@dataclass(frozen=True)
class Incoming:
    """A delivery before it is trusted. ``authentic(secret)``: whether it verifies."""

    provider: str
    delivery_id: str
    event: str
    repo: str
    authentic: Callable[[str], bool]


@dataclass(frozen=True)
class Received:
    delivery: WebhookDelivery
    duplicate: bool


def decode_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, else 422."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply to decode
        payload = None
    if not isinstance(payload, dict):
        raise InvalidInputError("the webhook body is not a JSON object (set the webhook's "
                                "content type to application/json)")
    return payload


def payload_repo(provider: str, payload: Mapping[str, Any]) -> str:
    """The repository a payload names, else 422."""
    repo = repository_of(provider, payload)
    if repo is None:
        raise InvalidInputError("the webhook payload names no repository")
    return repo


def receive(session: Session, fx: Effects, incoming: Incoming,
            to_event: Callable[[], CiEvent]) -> Received:
    """Authenticate, record and act on one delivery (see the module docstring)."""
    verified = [t for t in triggers.candidates(session, incoming.provider, incoming.repo)
                if incoming.authentic(t.secret)]
    if not verified:
        session.rollback()
        log.warning("%s webhook delivery %r for %r refused: not authenticated",
                    incoming.provider, incoming.delivery_id[:128], incoming.repo[:256])
        raise WebhookAuthError()
    event = to_event()
    delivery = WebhookDelivery(provider=incoming.provider, delivery_id=incoming.delivery_id,
                               event=incoming.event[:64], repository=incoming.repo,
                               ref=event.ref, sha=event.sha, outcome="processing", reason="",
                               sweep_ids=[])
    session.add(delivery)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return Received(_recorded(session, incoming), duplicate=True)
    outcome, reason, sweep_ids = _act(session, fx, event, verified)
    delivery.outcome, delivery.reason, delivery.sweep_ids = outcome, reason[:1024], sweep_ids
    session.commit()
    log.info("%s delivery %s (%s): %s %s", incoming.provider, incoming.delivery_id,
             incoming.event, outcome, reason or sweep_ids)
    return Received(delivery, duplicate=False)


def _recorded(session: Session, incoming: Incoming) -> WebhookDelivery:
    found = session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.provider == incoming.provider,
        WebhookDelivery.delivery_id == incoming.delivery_id)).one()
    return found


def _act(session: Session, fx: Effects, event: CiEvent,
         verified: list[Trigger]) -> tuple[str, str, list[int]]:
    """(outcome, reason, sweep ids) of an authenticated, first-seen delivery."""
    if event.kind == "ping":
        return "ping", "pong", []
    if event.skip is not None:
        return "ignored", event.skip, []
    why_not = {t.id: triggers.mismatch(t, event) for t in verified}
    reasons = [why for why in why_not.values() if why is not None]
    matched = [t for t in verified if why_not[t.id] is None]
    if not matched:
        return "ignored", "; ".join(reasons) or f"no trigger runs on {event.kind}", []
    sweep_ids: list[int] = []
    errors: list[str] = []
    for trigger in matched:
        try:
            spec, raw = triggers.render_spec(trigger.template, event, fx.settings.max_runs)
        except InvalidSpecError as exc:
            errors.append(f"trigger {trigger.id} ({trigger.name}): {exc}")
            continue
        provenance = Provenance("webhook", event.repo, event.ref, event.sha, trigger.id)
        sweep_ids.append(create_sweep(session, fx, spec, raw, provenance).sweep.id)
    return ("created" if sweep_ids else "error"), "; ".join(errors), sweep_ids


def list_deliveries(session: Session, provider: str | None, limit: int) -> list[WebhookDelivery]:
    """Newest first."""
    stmt = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
    if provider is not None:
        stmt = stmt.where(WebhookDelivery.provider == provider)
    return list(session.scalars(stmt))

