"""Trigger models: a CI rule (provider, repository, events, branches) → a sweep template.

The secret and the status token are write-only: requests carry them, responses only say
whether they are set (``has_secret``, ``statuses.has_token``). A generated secret is shown
once, in ``TriggerCreated``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, StrictBool, WithJsonSchema
from pydantic.config import JsonDict

from api.schemas.common import example, request
from compression.spec.types import SPACE, WORD

Provider = Literal["github", "gitlab", "generic"]
StatusApi = Literal["github", "gitlab"]
# What a trigger can run on; a push of a tag is a "tag" event, not a "push".
EventKind = Literal["push", "tag", "pull_request", "release"]
URL = rf"^https?://[^{SPACE}]+$"
REPOSITORY = rf"^[{WORD}.\-]+(/[{WORD}.\-]+)+$"
Repository = Annotated[str, Field(min_length=1, max_length=256,
                                  pattern=REPOSITORY,
                                  examples=["octo-org/vision-models"])]
BranchGlob = Annotated[str, Field(min_length=1, max_length=256, examples=["main", "release/*"])]
Secret = Annotated[SecretStr, Field(min_length=16, max_length=256)]
# Validated as a sweep spec once rendered (api.services.triggers); documented as one.
Template = Annotated[dict[str, Any], WithJsonSchema({
    "allOf": [{"$ref": "#/components/schemas/SweepSpec"}],
    "description": "a sweep spec; ${sha}, ${ref}, ${repo} and ${pr} in its strings are "
                   "replaced, and the result must be a valid spec"})]

TEMPLATE_EXAMPLE: JsonDict = {
    "name": "ci-${sha}", "task": "digits-mlp", "seeds": [0],
    "baseline": {"epochs": 2},
    "recipes": [{"name": "agp", "prune": {"granularity": "unstructured"},
                 "schedule": {"kind": "agp", "final_sparsity": 0.9, "end_epoch": 1},
                 "finetune": {"epochs": 1}}],
    "gates": {"max_accuracy_drop": 0.02}}
STATUSES_EXAMPLE: JsonDict = {"api": "github", "api_base": "https://api.github.com",
                              "has_token": True}
TRIGGER_EXAMPLE: JsonDict = {
    "id": 1, "name": "main pushes", "provider": "github", "repository": "octo-org/vision-models",
    "events": ["push", "pull_request"], "branches": ["main"], "template": TEMPLATE_EXAMPLE,
    "enabled": True, "has_secret": True, "statuses": STATUSES_EXAMPLE,
    "created_at": "2026-11-24T09:00:00Z", "updated_at": "2026-11-24T09:00:00Z"}


class StatusReporting(BaseModel):
    """Where commit statuses go: the GitHub statuses API or GitLab's commit-status API."""

    model_config = request({"api": "github", "token": "ghp_example-token-never-returned"})

    api: StatusApi | None = Field(default=None, description="default: the trigger's provider "
                                  "(required for a generic trigger)")
    api_base: Annotated[str, Field(max_length=512, pattern=URL)] | None = Field(
        default=None, description="default https://api.github.com or https://gitlab.com/api/v4",
        examples=["https://github.example.com/api/v3"])
    token: Annotated[SecretStr, Field(min_length=1, max_length=512)] = Field(
        description="GitHub: a token with commit-status write access; GitLab: an access "
                    "token with the api scope. Write-only.")


class StatusReportingPublic(BaseModel):
    model_config = example(STATUSES_EXAMPLE)

    api: StatusApi
    api_base: str
    has_token: bool


class TriggerCreate(BaseModel):
    """A new trigger; ``template`` is a sweep spec where ``${sha}``, ``${ref}``, ``${repo}``
    and ``${pr}`` are replaced in every string value."""

    model_config = request({
        "name": "main pushes", "provider": "github", "repository": "octo-org/vision-models",
        "events": ["push", "pull_request"], "branches": ["main"], "template": TEMPLATE_EXAMPLE,
        "secret": "a-long-random-webhook-secret",
        "statuses": {"api": "github", "token": "ghp_example-token-never-returned"}})

    name: Annotated[str, Field(min_length=1, max_length=128)]
    provider: Provider
    repository: Repository
    events: Annotated[list[EventKind], Field(min_length=1, max_length=4)] = Field(
        default_factory=lambda: list[EventKind](["push"]))
    branches: Annotated[list[BranchGlob], Field(max_length=50)] = Field(
        default_factory=list, description="glob patterns (* matches anything, / included) "
        "on the pushed branch, or a pull request's base branch; empty: every branch. "
        "Tag and release events ignore them.")
    template: Template
    secret: Secret | None = Field(default=None, description="webhook secret (GitLab: the "
                                  "secret token); generated and shown once when omitted")
    enabled: StrictBool = True
    statuses: StatusReporting | None = Field(default=None,
                                             description="post commit statuses when set")


class TriggerUpdate(BaseModel):
    """Changes to a trigger: fields left out stay as they are; ``statuses: null`` turns
    status reporting off."""

    model_config = request({"branches": ["main", "release/*"], "enabled": False})

    name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    repository: Repository | None = None
    events: Annotated[list[EventKind], Field(min_length=1, max_length=4)] | None = None
    branches: Annotated[list[BranchGlob], Field(max_length=50)] | None = None
    template: Template | None = None
    secret: Secret | None = None
    enabled: StrictBool | None = None
    statuses: StatusReporting | None = None


class TriggerPublic(BaseModel):
    model_config = example(TRIGGER_EXAMPLE)

    id: int
    name: str
    provider: Provider
    repository: str
    events: list[str]
    branches: list[str]
    template: dict[str, Any]
    enabled: bool
    has_secret: bool
    statuses: StatusReportingPublic | None
    created_at: datetime
    updated_at: datetime


class TriggerCreated(TriggerPublic):
    model_config = example({**TRIGGER_EXAMPLE, "secret": "whsec_generated-and-shown-once"})

    secret: str | None = Field(description="the generated secret, shown only in this "
                               "response; null when you gave one")


class TriggersPublic(BaseModel):
    model_config = example({"items": [TRIGGER_EXAMPLE]})

    items: list[TriggerPublic]
