"""Provider payloads → CiEvent (on the real GitHub fixtures), trigger matching and template
rendering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from ghfixtures import REPO, branch_push, payload

from api.errors import InvalidInputError
from api.models import Trigger
from api.schemas.webhooks import GenericEvent
from api.services.triggers import check_template, mismatch, render_spec
from api.services.webhook_events import (
    CiEvent,
    generic_event,
    github_event,
    gitlab_event,
    repository_of,
)
from compression.spec import DEFAULT_MAX_RUNS, parse_spec
from compression.spec.template import pull_request_of, render

pytestmark = pytest.mark.unit
SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"


def _github(event: str, name: str) -> CiEvent:
    doc = json.loads(payload(name))
    repo = repository_of("github", doc)
    assert repo is not None
    return github_event(event, repo, doc)


def test_the_push_fixture_deletes_a_tag_and_runs_nothing() -> None:
    event = _github("push", "push/payload.json")
    assert (event.kind, event.repo, event.ref, event.sha) == (
        "tag", REPO, "refs/tags/simple-tag", None)
    assert event.skip == "refs/tags/simple-tag was deleted"


def test_a_branch_push_runs_on_its_head_commit() -> None:
    doc = json.loads(branch_push(SHA, "refs/heads/release/1.2"))
    event = github_event("push", REPO, doc)
    assert (event.kind, event.ref, event.sha, event.branch, event.skip) == (
        "push", "refs/heads/release/1.2", SHA, "release/1.2", None)


def test_an_opened_pull_request_runs_on_its_head_and_filters_on_its_base() -> None:
    event = _github("pull_request", "pull_request/opened.payload.json")
    assert (event.kind, event.sha, event.branch, event.pr, event.ref, event.skip) == (
        "pull_request", "ec26c3e57ca3a959ca5aad62de7213c562f8c821", "master", "2",
        "refs/pull/2/head", None)


def test_a_closed_pull_request_runs_nothing() -> None:
    event = _github("pull_request", "pull_request/closed.payload.json")
    assert event.skip is not None and "'closed'" in event.skip


def test_a_published_release_names_its_tag_but_no_commit() -> None:
    event = _github("release", "release/published.payload.json")
    assert (event.kind, event.ref, event.sha, event.skip) == (
        "release", "refs/tags/0.0.1", None, None)


def test_an_unsupported_event_keeps_its_name() -> None:
    assert _github("check_suite", "check_suite/requested.payload.json").kind == "check_suite"


def test_values_of_the_wrong_shape_are_dropped() -> None:
    doc = {"ref": ["refs/heads/main"], "after": "../../etc/passwd",
           "repository": {"full_name": "x" * 300}}
    assert repository_of("github", doc) is None
    event = github_event("push", REPO, doc)
    assert event.ref is None and event.sha is None and event.skip is not None


def _gitlab_mr(action: str, **extra: Any) -> dict[str, Any]:
    return {"object_kind": "merge_request",
            "project": {"path_with_namespace": "group/sub/project"},
            "object_attributes": {"iid": 7, "action": action, "target_branch": "main",
                                  "source_branch": "feature", "last_commit": {"id": SHA},
                                  **extra}}


def test_gitlab_events() -> None:
    push = {"object_kind": "push", "ref": "refs/heads/main", "checkout_sha": SHA,
            "after": SHA, "project": {"path_with_namespace": "group/sub/project"}}
    assert repository_of("gitlab", push) == "group/sub/project"
    event = gitlab_event("Push Hook", "group/sub/project", push)
    assert (event.kind, event.sha, event.branch, event.skip) == ("push", SHA, "main", None)
    tag = gitlab_event("Tag Push Hook", "g/p", {**push, "ref": "refs/tags/v1"})
    assert (tag.kind, tag.branch, tag.skip) == ("tag", None, None)
    deleted = gitlab_event("Push Hook", "g/p", {**push, "checkout_sha": None, "after": "0" * 40})
    assert deleted.skip == "refs/heads/main was deleted"
    opened = gitlab_event("Merge Request Hook", "g/p", _gitlab_mr("open"))
    assert (opened.kind, opened.sha, opened.branch, opened.pr, opened.skip) == (
        "pull_request", SHA, "main", "7", None)
    # "update" without new commits (a new title) runs nothing; with oldrev it does.
    assert gitlab_event("Merge Request Hook", "g/p", _gitlab_mr("update")).skip is not None
    assert gitlab_event("Merge Request Hook", "g/p",
                        _gitlab_mr("update", oldrev="a" * 40)).skip is None
    assert gitlab_event("Pipeline Hook", "g/p", {}).kind == "Pipeline Hook"


def test_generic_event() -> None:
    body = GenericEvent.model_validate({"delivery_id": "d", "event": "tag",
                                        "repository": "o/r", "ref": "v1.0", "sha": SHA})
    event = generic_event(body)
    assert (event.kind, event.ref, event.branch, event.sha) == ("tag", "refs/tags/v1.0", None, SHA)


def _trigger(events: list[str], branches: list[str]) -> Trigger:
    return Trigger(id=3, name="t", provider="github", repository=REPO, events=events,
                   branches=branches)


@pytest.mark.parametrize("events, branches, event, runs", [
    (["push"], [], CiEvent("push", REPO, branch="anything"), True),
    (["push"], ["main"], CiEvent("push", REPO, branch="main"), True),
    (["push"], ["main"], CiEvent("push", REPO, branch="mainline"), False),
    (["push"], ["release/*"], CiEvent("push", REPO, branch="release/1.2"), True),
    (["push"], ["release/*"], CiEvent("push", REPO, branch=None), False),
    (["pull_request"], ["main"], CiEvent("pull_request", REPO, branch="main"), True),
    (["push"], ["main"], CiEvent("pull_request", REPO, branch="main"), False),
    (["tag"], ["main"], CiEvent("tag", REPO), True),  # branch globs do not apply to tags
    (["push", "tag"], [], CiEvent("check_suite", REPO), False),
])
def test_mismatch(events: list[str], branches: list[str], event: CiEvent, runs: bool) -> None:
    why = mismatch(_trigger(events, branches), event)
    assert (why is None) is runs
    if not runs:
        assert why is not None and why.startswith("trigger 3 (t)")


def test_render_substitutes_in_every_string_value_only() -> None:
    values = {"sha": SHA, "ref": "refs/heads/main", "repo": "o/r", "pr": "5"}
    template = {"name": "ci-${sha}", "seeds": [0, 1], "${sha}": "key stays",
                "nested": [{"note": "${repo}@${ref} #${pr} ${other} $sha"}], "lr": 0.1}
    assert render(template, values) == {
        "name": f"ci-{SHA}", "seeds": [0, 1], "${sha}": "key stays",
        "nested": [{"note": "o/r@refs/heads/main #5 ${other} $sha"}], "lr": 0.1}


def test_template_is_checked_with_sample_values() -> None:
    good = {"name": "ci-${sha}", "task": "digits-mlp", "baseline": {"epochs": 1}}
    check_template(good, DEFAULT_MAX_RUNS)
    spec, raw = render_spec(good, CiEvent("push", "o/r", sha=SHA), DEFAULT_MAX_RUNS)
    assert spec.name == raw["name"] == f"ci-{SHA}"
    with pytest.raises(InvalidInputError) as caught:
        check_template({"name": "ci-${sha}", "task": "digits-mlp", "seeds": "many"},
                       DEFAULT_MAX_RUNS)
    assert [v.pointer for v in caught.value.violations] == ["/template/seeds"]


def test_the_ci_examples_are_valid() -> None:
    examples = Path(__file__).parents[3] / "examples"
    parse_spec(yaml.safe_load((examples / "ci.yaml").read_text()))
    template = yaml.safe_load((examples / "ci-trigger.yaml").read_text())
    check_template(template, DEFAULT_MAX_RUNS)
    spec, _ = render_spec(template, CiEvent("push", "o/r", sha=SHA), DEFAULT_MAX_RUNS)
    assert spec.name == f"ci-{SHA}" and spec.gates.max_accuracy_drop == 0.01


@pytest.mark.parametrize(("ref", "pr"), [("refs/pull/17/merge", "17"),
                                         ("refs/merge-requests/3/head", "3"),
                                         ("refs/heads/main", None), (None, None),
                                         ("refs/pull/x/merge", None)])
def test_pull_request_of_a_ref(ref: str | None, pr: str | None) -> None:
    assert pull_request_of(ref) == pr
