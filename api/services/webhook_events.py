"""Provider payloads reduced to what triggers match on: a ``CiEvent``.

Pure functions over already-decoded JSON. Every value is checked before it is used: a
repository name or ref of the wrong type or length, or with a control character or a lone
surrogate (PostgreSQL text can store neither a NUL nor a surrogate), is dropped, and a sha
that is not hex is dropped (it becomes part of a status API URL path). Patterns match whole
values (``fullmatch``: ``$`` would also match before a trailing newline).

Event kinds: ``push`` (a branch), ``tag`` (a pushed tag), ``pull_request`` (a GitHub pull
request or a GitLab merge request: opened, reopened, or new commits pushed to it) and
``release`` (published). Anything else keeps its provider's name and matches no trigger.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.schemas.webhooks import GenericEvent
from compression.spec.template import placeholder_values

_SHA = re.compile(r"[0-9a-f]{7,64}")
_ZERO = re.compile(r"0+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
GITLAB_EVENTS = {"Push Hook": "push", "Tag Push Hook": "tag",
                 "Merge Request Hook": "pull_request", "Release Hook": "release"}


@dataclass(frozen=True)
class CiEvent:
    """A delivery as triggers see it.

    branch: what branch filters match: the pushed branch, or a pull request's base branch.
    skip: why this delivery runs nothing whatever the triggers say (a deleted branch, a
    closed pull request), else None.
    """

    kind: str
    repo: str
    ref: str | None = None
    sha: str | None = None
    branch: str | None = None
    pr: str | None = None
    skip: str | None = None

    def variables(self) -> dict[str, str]:
        """The values a trigger's template may use."""
        return placeholder_values(sha=self.sha, ref=self.ref, repo=self.repo, pr=self.pr)


def _get(payload: Any, *path: str) -> Any:
    for key in path:
        payload = payload.get(key) if isinstance(payload, Mapping) else None
    return payload


def text(value: Any, limit: int = 256) -> str | None:
    """A non-empty string of at most ``limit`` characters and no control character, else
    None."""
    if not isinstance(value, str) or not 0 < len(value) <= limit or _CONTROL.search(value):
        return None
    return value


def sha_of(value: Any) -> str | None:
    """A lowercase hex commit id, else None (all zeros: a deleted ref)."""
    if not isinstance(value, str) or not _SHA.fullmatch(value) or _ZERO.fullmatch(value):
        return None
    return value


def repository_of(provider: str, payload: Mapping[str, Any]) -> str | None:
    """The repository's full name (``owner/name``, GitLab ``group/.../project``)."""
    if provider == "github":
        return text(_get(payload, "repository", "full_name"))
    if provider == "gitlab":
        return text(_get(payload, "project", "path_with_namespace"))
    return text(payload.get("repository"))


def _ref_event(kind: str, repo: str, ref: str | None, after: Any, deleted: bool) -> CiEvent:
    """A push of a branch or a tag."""
    if ref is not None and ref.startswith("refs/tags/"):
        kind = "tag"
    branch = ref.removeprefix("refs/heads/") if ref and ref.startswith("refs/heads/") else None
    sha = sha_of(after)
    skip = None
    if deleted or (isinstance(after, str) and _ZERO.fullmatch(after)):
        skip = f"{ref or 'the ref'} was deleted"
    elif sha is None:
        skip = "the delivery names no commit"
    return CiEvent(kind, repo, ref, sha, branch, None, skip)


def github_event(event: str, repo: str, payload: Mapping[str, Any]) -> CiEvent:
    """``X-GitHub-Event`` and its payload as a ``CiEvent``."""
    if event == "push":
        return _ref_event("push", repo, text(payload.get("ref")), payload.get("after"),
                          payload.get("deleted") is True)
    if event == "pull_request":
        number = payload.get("number")
        pr = str(number) if isinstance(number, int) and not isinstance(number, bool) else None
        action = text(payload.get("action"), 64) or "?"
        skip = None if action in ("opened", "reopened", "synchronize") else (
            f"pull_request action {action!r} runs nothing (opened, reopened and "
            "synchronize do)")
        sha = sha_of(_get(payload, "pull_request", "head", "sha"))
        if skip is None and sha is None:
            skip = "the delivery names no commit"
        return CiEvent("pull_request", repo, f"refs/pull/{pr}/head" if pr else None, sha,
                       text(_get(payload, "pull_request", "base", "ref")), pr, skip)
    if event == "release":
        action = text(payload.get("action"), 64) or "?"
        tag = text(_get(payload, "release", "tag_name"))
        # A release payload names a tag and a branch, never a commit: no commit status.
        return CiEvent("release", repo, f"refs/tags/{tag}" if tag else None, None, None, None,
                       None if action == "published" else
                       f"release action {action!r} runs nothing (published does)")
    return CiEvent(event, repo)


def gitlab_event(event: str, repo: str, payload: Mapping[str, Any]) -> CiEvent:
    """``X-Gitlab-Event`` and its payload as a ``CiEvent``."""
    kind = GITLAB_EVENTS.get(event, event)
    if kind in ("push", "tag"):
        return _ref_event(kind, repo, text(payload.get("ref")),
                          payload.get("checkout_sha") or payload.get("after"), False)
    if kind == "pull_request":
        attrs = _get(payload, "object_attributes") or {}
        iid = attrs.get("iid")
        pr = str(iid) if isinstance(iid, int) and not isinstance(iid, bool) else None
        action = text(attrs.get("action"), 64) or "?"
        # "update" is also sent for a new title or label; only new commits carry oldrev.
        runs = action in ("open", "reopen") or (action == "update" and "oldrev" in attrs)
        sha = sha_of(_get(attrs, "last_commit", "id"))
        skip = None if runs and sha else (
            "the delivery names no commit" if runs else
            f"merge request action {action!r} runs nothing (open, reopen and new commits do)")
        return CiEvent("pull_request", repo, f"refs/merge-requests/{pr}/head" if pr else None,
                       sha, text(attrs.get("target_branch")), pr, skip)
    if kind == "release":
        action = text(payload.get("action"), 64) or "?"
        tag = text(payload.get("tag"))
        return CiEvent("release", repo, f"refs/tags/{tag}" if tag else None,
                       sha_of(_get(payload, "commit", "id")), None, None,
                       None if action == "create" else
                       f"release action {action!r} runs nothing (create does)")
    return CiEvent(kind, repo)


def generic_event(body: GenericEvent) -> CiEvent:
    """The generic webhook's (validated) body as a ``CiEvent``."""
    ref = body.ref
    branch = None
    if ref and body.event in ("push", "pull_request"):
        branch = ref.removeprefix("refs/heads/")
    if ref and body.event in ("tag", "release") and not ref.startswith("refs/tags/"):
        ref = f"refs/tags/{ref}"
    return CiEvent(body.event, body.repository, ref, body.sha, branch,
                   str(body.pr) if body.pr is not None else None)
