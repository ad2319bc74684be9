"""Spec templates: ``${sha}``, ``${ref}``, ``${repo}`` and ``${pr}`` in a spec's string values.

Used by CI triggers (the API renders a trigger's template per webhook delivery) and by
``squeezelab ci`` (the job's own spec). Values are substituted into the decoded structure,
never into YAML text, so a ref cannot change the spec's shape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\$\{(sha|ref|repo|pr)\}")
# A prefix (the ref goes on: /head, /merge); ASCII digits (\d also matches other scripts').
_PULL_REF = re.compile(r"refs/(?:pull|merge-requests)/([0-9]+)/")


def render(template: Any, values: Mapping[str, str]) -> Any:
    """``template`` with every ``${name}`` in its string values replaced."""
    if isinstance(template, str):
        return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    if isinstance(template, dict):
        return {key: render(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [render(item, values) for item in template]
    return template


def placeholder_values(*, sha: str | None, ref: str | None, repo: str | None,
                       pr: str | None) -> dict[str, str]:
    """What ``render`` fills in for each placeholder; a value not known becomes ""."""
    return {"sha": sha or "", "ref": ref or "", "repo": repo or "", "pr": pr or ""}


def pull_request_of(ref: str | None) -> str | None:
    """``refs/pull/7/merge`` (GitHub) or ``refs/merge-requests/7/head`` (GitLab) -> "7"."""
    match = _PULL_REF.match(ref or "")
    return match.group(1) if match else None
