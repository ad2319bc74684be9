"""``squeezelab ci SPEC``: run a sweep from inside a CI job and let its gates decide.

``${sha}``, ``${ref}``, ``${repo}`` and ``${pr}`` in the spec's string values are replaced as
in a trigger's template (e.g. ``name: perf-${sha}``); a value not known here becomes "".

The sweep is submitted with source ``ci`` and tagged with the commit the job builds: repo,
ref and sha from GitHub Actions (``GITHUB_REPOSITORY``, ``GITHUB_REF``, ``GITHUB_SHA``; for a
pull request the head commit from the event file, as GitHub's merge commit is not one anybody
pushed) or GitLab CI (``CI_PROJECT_PATH``, ``CI_COMMIT_SHA`` and the tag, merge request or
branch), or from ``--repo/--ref/--sha``. When a trigger of that repository has a status
token, the API posts a pending commit status, then the verdict.

With ``--wait`` it follows the runs as ``submit --wait`` does, prints a Markdown summary to
stdout and appends it to ``$GITHUB_STEP_SUMMARY`` when that is set.

Exit codes: 0 the gates passed (without ``--wait``: submitted), 1 a gate failed or a run
failed or was cancelled, 2 the request could not be made (bad spec, API unreachable, token
missing), 130 the watch was interrupted (the sweep goes on).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.markup import escape

from compression.spec.template import PLACEHOLDER, placeholder_values, pull_request_of, render
from squeezelab.ci_summary import markdown_summary, passed
from squeezelab.remote import api_errors, err, out, remote
from squeezelab.remote_cmd import DETACHED, IntervalOpt
from squeezelab.tables import sweep_header
from squeezelab.watch import POLL_S, watch

_SHA = re.compile(r"[0-9a-f]{7,64}")


@dataclass(frozen=True)
class Commit:
    """What the sweep is tagged with, and where that was found."""

    repo: str | None = None
    ref: str | None = None
    sha: str | None = None
    found_in: str = "no CI environment"


def _pull_request_head(event_path: str | None) -> str | None:
    """The head sha of the pull request in GitHub's event file, if readable."""
    if not event_path:
        return None
    try:
        event: Any = json.loads(Path(event_path).read_text())
        sha = event["pull_request"]["head"]["sha"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return sha if isinstance(sha, str) else None


def rendered_spec(path: Path, commit: Commit) -> Path | dict[str, Any]:
    """The spec with its placeholders filled in; the file as it is when it has none (or
    does not parse: the API then reports what is wrong with it, field by field)."""
    text = path.read_text()
    if not PLACEHOLDER.search(text):
        return path
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        return path
    if not isinstance(raw, dict):
        return path
    values = placeholder_values(sha=commit.sha, ref=commit.ref, repo=commit.repo,
                                pr=pull_request_of(commit.ref))
    spec: dict[str, Any] = render(raw, values)
    return spec


def detect_commit(env: Mapping[str, str]) -> Commit:
    """The commit a CI job builds, from GitHub Actions' or GitLab CI's variables."""
    if env.get("GITHUB_SHA") and env.get("GITHUB_REPOSITORY"):
        sha = env["GITHUB_SHA"]
        if env.get("GITHUB_EVENT_NAME", "").startswith("pull_request"):
            sha = _pull_request_head(env.get("GITHUB_EVENT_PATH")) or sha
        return Commit(env["GITHUB_REPOSITORY"], env.get("GITHUB_REF") or None, sha,
                      "GitHub Actions")
    if env.get("CI_COMMIT_SHA") and env.get("CI_PROJECT_PATH"):
        if env.get("CI_COMMIT_TAG"):
            ref = f"refs/tags/{env['CI_COMMIT_TAG']}"
        elif env.get("CI_MERGE_REQUEST_IID"):
            ref = f"refs/merge-requests/{env['CI_MERGE_REQUEST_IID']}/head"
        elif env.get("CI_COMMIT_REF_NAME"):
            ref = f"refs/heads/{env['CI_COMMIT_REF_NAME']}"
        else:
            ref = None
        return Commit(env["CI_PROJECT_PATH"], ref, env["CI_COMMIT_SHA"], "GitLab CI")
    return Commit()


def ci(
    ctx: typer.Context,
    spec: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="Sweep spec (YAML, or JSON with a .json name).")],
    wait: Annotated[bool, typer.Option("--wait", help="Follow the sweep to its end; exit 1 "
                                       "when a gate fails or a run does not succeed.")] = False,
    repo: Annotated[str | None, typer.Option(help="owner/name; default: from the CI "
                                             "environment.", show_default=False)] = None,
    ref: Annotated[str | None, typer.Option(help="e.g. refs/heads/main; default: from the "
                                            "CI environment.", show_default=False)] = None,
    sha: Annotated[str | None, typer.Option(help="The commit; default: from the CI "
                                            "environment.", show_default=False)] = None,
    summary: Annotated[Path | None, typer.Option(
        "--summary-file", envvar="GITHUB_STEP_SUMMARY", dir_okay=False, show_default=False,
        help="Append the Markdown summary to this file (GitHub sets GITHUB_STEP_SUMMARY).")
    ] = None,
    interval: IntervalOpt = POLL_S,
) -> None:
    """Submit a sweep for the commit this CI job builds; with --wait, gate the job on it."""
    found = detect_commit(os.environ)
    commit = replace(found, repo=repo or found.repo, ref=ref or found.ref,
                     sha=(sha or found.sha or "").lower() or None,
                     found_in=found.found_in if found.repo or not (repo or sha) else "flags")
    if commit.sha is not None and not _SHA.fullmatch(commit.sha):
        err.print(f"[red]error:[/] {escape(commit.sha)} is not a commit sha (7-64 hex digits)")
        raise typer.Exit(2)
    if commit.repo is None or commit.sha is None:
        err.print("[yellow]note:[/] no repository and commit found (GITHUB_* or CI_* "
                  "variables, or --repo and --sha): no commit status will be posted")
    api = remote(ctx)
    with api_errors(api.api_url), api.client() as client:
        created = client.submit_sweep(rendered_spec(spec, commit), source="ci",
                                      repo=commit.repo, ref=commit.ref, sha=commit.sha)
        target = f" for {commit.repo}@{commit.sha[:12]}" if commit.repo and commit.sha else ""
        err.print(f"submitted sweep [bold]{created.id}[/] {escape(created.name)}"
                  f"{escape(target)} ({escape(commit.found_in)}): {len(created.run_ids)} runs")
        if not wait:
            out.print(created.id)
            return
        err.print(sweep_header(client.get_sweep(created.id)))
        outcome = watch(client, created.id, console=err, interval=interval)
    if outcome is None:
        err.print(f"detached: sweep {created.id} keeps running")
        raise typer.Exit(DETACHED)
    text = markdown_summary(outcome.sweep, outcome.runs,
                            f"{api.api_url.rstrip('/')}/sweeps/{created.id}")
    out.out(text, highlight=False, end="")
    if summary is not None:
        try:
            with summary.open("a", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            err.print(f"[yellow]warning:[/] cannot write the summary to {escape(str(summary))}: "
                      f"{escape(str(exc))}")
    raise typer.Exit(0 if passed(outcome.sweep) else 1)
