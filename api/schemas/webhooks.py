"""Webhook deliveries, the generic webhook's body, and commit statuses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from api.schemas.common import JSON_INTEGER, example
from api.schemas.triggers import EventKind, Repository

Outcome = Literal["created", "ignored", "ping", "error", "processing"]
# Pydantic's patterns run on the Rust regex engine, where ``$`` matches only at the very end
# (never before a trailing newline, as Python's re does); tests/unit/api pin that.
Sha = Annotated[str, Field(pattern=r"^[0-9a-f]{7,64}$", examples=["6113728f27ae82c7b1a177c8"])]
# No control characters: NUL cannot be stored in PostgreSQL text; the others are not names.
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"

RESULT_EXAMPLE: JsonDict = {
    "provider": "github", "delivery_id": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    "event": "push", "outcome": "created", "duplicate": False, "reason": "",
    "sweep_ids": [12]}
DELIVERY_EXAMPLE: JsonDict = {
    "id": 3, "provider": "github", "delivery_id": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    "event": "push", "repository": "octo-org/vision-models", "ref": "refs/heads/main",
    "sha": "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "outcome": "created", "reason": "",
    "sweep_ids": [12], "received_at": "2026-11-24T09:00:00Z"}
STATUS_EXAMPLE: JsonDict = {
    "id": 5, "sweep_id": 12, "trigger_id": 1, "repo": "octo-org/vision-models",
    "sha": "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "state": "success",
    "description": "passed: best agp[final_sparsity=0.9] −0.3 pt, 2.1× faster",
    "target_url": "https://squeezelab.example.com/sweeps/12", "outcome": "sent",
    "attempts": 1, "response_status": 201, "last_error": None,
    "created_at": "2026-11-24T09:05:00Z", "sent_at": "2026-11-24T09:05:01Z"}
GENERIC_EXAMPLE: JsonDict = {
    "delivery_id": "build-4711", "event": "push", "repository": "octo-org/vision-models",
    "ref": "refs/heads/main", "sha": "6113728f27ae82c7b1a177c8d03f9e96e0adf246"}


# The one name a delivery must carry (else 422): what api.services.webhook_events reads.
RepoName = Annotated[str, Field(min_length=1, max_length=256, pattern=PRINTABLE)]


class _Repository(BaseModel):
    model_config = ConfigDict(extra="allow")

    full_name: RepoName


class GitHubPayload(BaseModel):
    """A GitHub webhook payload as GitHub sends it; only the fields read are listed."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "ref": "refs/heads/main", "after": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "deleted": False, "repository": {"full_name": "octo-org/vision-models"}}]})

    repository: _Repository


class _Project(BaseModel):
    model_config = ConfigDict(extra="allow")

    path_with_namespace: RepoName


class GitLabPayload(BaseModel):
    """A GitLab webhook payload as GitLab sends it; only the fields read are listed."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "object_kind": "push", "ref": "refs/heads/main",
        "checkout_sha": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "project": {"path_with_namespace": "octo-org/vision-models"}}]})

    project: _Project


class GenericEvent(BaseModel):
    """The generic webhook's JSON body (sign it as docs/ci.md shows)."""

    model_config = ConfigDict(extra="ignore", strict=True,
                              json_schema_extra={"examples": [GENERIC_EXAMPLE]})

    delivery_id: Annotated[str, Field(min_length=1, max_length=128, pattern=PRINTABLE,
                                      description="unique per delivery; a repeat is a no-op")]
    event: EventKind
    repository: Repository
    ref: Annotated[str, Field(min_length=1, max_length=256, pattern=PRINTABLE)] | None = None
    sha: Sha | None = None
    pr: Annotated[int, Field(strict=False, ge=1), JSON_INTEGER] | None = None


class DeliveryResult(BaseModel):
    """What a webhook delivery did: 201 created sweeps, 202 ignored (``reason`` says why),
    200 a ping or a repeated delivery (``duplicate``: nothing new was created)."""

    model_config = example(RESULT_EXAMPLE)

    provider: str
    delivery_id: str
    event: str
    outcome: Outcome
    duplicate: bool
    reason: str
    sweep_ids: list[int]


class DeliveryPublic(BaseModel):
    model_config = example(DELIVERY_EXAMPLE)

    id: int
    provider: str
    delivery_id: str
    event: str
    repository: str | None
    ref: str | None
    sha: str | None
    outcome: Outcome
    reason: str
    sweep_ids: list[int]
    received_at: datetime


class DeliveriesPublic(BaseModel):
    model_config = example({"items": [DELIVERY_EXAMPLE]})

    items: list[DeliveryPublic]


class CommitStatusPublic(BaseModel):
    """A commit status the API posted, or is posting, for a CI sweep."""

    model_config = example(STATUS_EXAMPLE)

    id: int
    sweep_id: int
    trigger_id: int | None
    repo: str
    sha: str
    state: Literal["pending", "success", "failure", "error"]
    description: str
    target_url: str
    outcome: Literal["queued", "sent", "failed", "superseded"]
    attempts: int
    response_status: int | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class CommitStatusesPublic(BaseModel):
    model_config = example({"items": [STATUS_EXAMPLE]})

    items: list[CommitStatusPublic]
