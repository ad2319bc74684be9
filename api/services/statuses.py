"""Commit statuses for CI sweeps: an outbox in the database, sent by ``api.notifier``.

A sweep created by a webhook, or by ``squeezelab ci`` for a repository whose trigger
reports statuses, gets a ``pending`` row in the transaction that creates it; the transaction
that ends it adds the final row (``success``, ``failure`` or ``error``), and a retry of its
failed runs a ``pending`` one again, each superseding any row still unsent. So a status is
never lost to a crash and never sent from the request path: the notifier sends rows after
commit, retries with backoff and records each outcome.

Order: a ``pending`` that is still unsent when the sweep ends is superseded, so it cannot
overwrite the verdict. Should one be in flight at that moment (in another API process) and
land after the verdict, recording it queues the verdict again, so the verdict lands last.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.models import CommitStatus, Sweep, Trigger, utcnow

CONTEXT = "squeezelab"
MAX_DESCRIPTION = 140
GITLAB_STATE = {"pending": "pending", "success": "success", "failure": "failed",
                "error": "canceled"}
RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})


def sweep_url(public_url: str, sweep_id: int) -> str:
    """The dashboard's page of a sweep (frontend/src/app.tsx: /sweeps/:id)."""
    return f"{public_url.rstrip('/')}/sweeps/{sweep_id}"


def reporting_trigger(session: Session, trigger_id: int | None, repo: str) -> Trigger | None:
    """The trigger whose status API reports on a sweep: the one that created it, or for
    a ``squeezelab ci`` sweep the first enabled trigger of its repository that reports."""
    if trigger_id is not None:
        trigger = session.get(Trigger, trigger_id)
        return trigger if trigger is not None and trigger.status_api else None
    return session.scalars(select(Trigger).where(
        Trigger.status_api.is_not(None), Trigger.enabled.is_(True),
        func.lower(Trigger.repository) == repo.lower()).order_by(Trigger.id).limit(1)).first()


def stage_pending(session: Session, sweep: Sweep, trigger_id: int | None, public_url: str,
                  runs: int) -> CommitStatus | None:
    """Queue a ``pending`` status for a new CI sweep (in the caller's transaction)."""
    if not sweep.repo or not sweep.sha:
        return None
    trigger = reporting_trigger(session, trigger_id, sweep.repo)
    if trigger is None:
        return None
    row = CommitStatus(sweep_id=sweep.id, trigger_id=trigger.id, repo=sweep.repo,
                       sha=sweep.sha, state="pending", outcome="queued", attempts=0,
                       description=f"sweep {sweep.name}: {runs} runs queued"[:MAX_DESCRIPTION],
                       target_url=sweep_url(public_url, sweep.id), next_attempt_at=utcnow())
    session.add(row)
    return row


def final_status(status: str, gates: dict[str, Any] | None, failed_runs: int) -> tuple[str, str]:
    """(state, description) for an ended sweep: the gates decide, and a failed run fails it."""
    description = str((gates or {}).get("description") or "")
    if status == "cancelled":
        return "error", "sweep cancelled"
    if failed_runs:
        lead = f"{failed_runs} run{'s' if failed_runs != 1 else ''} failed"
        return "failure", f"{lead}; {description}"[:MAX_DESCRIPTION] if description else lead
    if (gates or {}).get("passed") is False or status != "succeeded":
        return "failure", description[:MAX_DESCRIPTION] or f"sweep {status}"
    return "success", description[:MAX_DESCRIPTION] or "sweep succeeded"


def _follow_up(session: Session, sweep: Sweep, state: str,
               description: str) -> CommitStatus | None:
    """Queue another status for a sweep that reports (it has a first row), superseding its
    unsent ones."""
    first = session.scalars(select(CommitStatus).where(CommitStatus.sweep_id == sweep.id)
                            .order_by(CommitStatus.id).limit(1)).first()
    if first is None:
        return None
    session.execute(update(CommitStatus)
                    .where(CommitStatus.sweep_id == sweep.id, CommitStatus.outcome == "queued")
                    .values(outcome="superseded").execution_options(synchronize_session=False))
    row = CommitStatus(sweep_id=sweep.id, trigger_id=first.trigger_id, repo=first.repo,
                       sha=first.sha, state=state, description=description[:MAX_DESCRIPTION],
                       target_url=first.target_url, outcome="queued", attempts=0,
                       next_attempt_at=utcnow())
    session.add(row)
    return row


def stage_final(session: Session, sweep: Sweep, failed_runs: int) -> CommitStatus | None:
    """Queue the verdict of an ended CI sweep (in the transaction that ends it)."""
    return _follow_up(session, sweep, *final_status(sweep.status, sweep.gates, failed_runs))


def stage_retry(session: Session, sweep: Sweep, runs: int) -> CommitStatus | None:
    """Queue ``pending`` again when a CI sweep's failed runs are retried."""
    plural = "s" if runs != 1 else ""
    return _follow_up(session, sweep, "pending",
                      f"sweep {sweep.name}: {runs} failed run{plural} retried")


def status_request(api: str, api_base: str, token: str, repo: str, sha: str, state: str,
                   description: str, target_url: str) -> tuple[str, dict[str, str],
                                                            dict[str, Any]]:
    """(url, headers, JSON body) of one commit status on GitHub or GitLab."""
    if api == "github":
        return (f"{api_base}/repos/{quote(repo, safe='/')}/statuses/{sha}",
                {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                 "X-GitHub-Api-Version": "2022-11-28"},
                {"state": state, "description": description, "target_url": target_url,
                 "context": CONTEXT})
    return (f"{api_base}/projects/{quote(repo, safe='')}/statuses/{sha}",
            {"PRIVATE-TOKEN": token},
            {"state": GITLAB_STATE[state], "description": description,
             "target_url": target_url, "name": CONTEXT})


@dataclass(frozen=True)
class Outgoing:
    """A claimed status: the request to make, or ``problem`` when it cannot be made."""

    status_id: int
    sweep_id: int
    state: str
    attempt: int
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None


def _outgoing(session: Session, row: CommitStatus) -> Outgoing:
    base = Outgoing(row.id, row.sweep_id, row.state, row.attempts)
    trigger = session.get(Trigger, row.trigger_id) if row.trigger_id is not None else None
    if trigger is None or not trigger.status_api or not trigger.status_token:
        return replace(base, problem="its trigger was deleted or no longer reports statuses")
    url, headers, body = status_request(
        trigger.status_api, trigger.status_api_base or "", trigger.status_token, row.repo,
        row.sha, row.state, row.description, row.target_url)
    return replace(base, url=url, headers=headers, body=body)


def claim_due(session: Session, now: datetime, limit: int, hold_s: float) -> list[Outgoing]:
    """Take up to ``limit`` due statuses, oldest first; each is held for ``hold_s`` seconds
    (so another API process leaves it alone) and counts one more attempt."""
    due = session.execute(select(CommitStatus.id, CommitStatus.attempts).where(
        CommitStatus.outcome == "queued", CommitStatus.next_attempt_at <= now)
        .order_by(CommitStatus.id).limit(limit)).all()
    claimed = []
    for status_id, attempts in due:
        won = session.execute(
            update(CommitStatus).where(CommitStatus.id == status_id,
                                       CommitStatus.outcome == "queued",
                                       CommitStatus.attempts == attempts)
            .values(attempts=attempts + 1, next_attempt_at=now + timedelta(seconds=hold_s))
            .execution_options(synchronize_session=False))
        if getattr(won, "rowcount", 0) == 1:
            claimed.append(status_id)
    session.commit()
    if not claimed:
        return []
    rows = session.scalars(select(CommitStatus).where(CommitStatus.id.in_(claimed))
                           .order_by(CommitStatus.id))
    outgoing = [_outgoing(session, row) for row in rows]
    session.commit()
    return outgoing


def record(session: Session, sent: Outgoing, http_status: int | None, error: str | None,
           retry_in_s: float | None, now: datetime) -> str:
    """Store how one attempt went; returns the row's outcome (queued when it will retry).

    retry_in_s: when to try again after a failure; None gives up.
    """
    ok = http_status is not None and 200 <= http_status < 300
    values: dict[str, Any] = {"response_status": http_status,
                              "last_error": None if ok else (error or "")[:512]}
    if ok:
        values.update(outcome="sent", sent_at=now)
    elif retry_in_s is not None:
        values.update(outcome="queued", next_attempt_at=now + timedelta(seconds=retry_in_s))
    else:
        values.update(outcome="failed")
    session.execute(update(CommitStatus).where(CommitStatus.id == sent.status_id,
                                               CommitStatus.outcome == "queued")
                    .values(**values).execution_options(synchronize_session=False))
    if ok and sent.state == "pending":
        # A pending that lands after the verdict must not have the last word.
        session.execute(update(CommitStatus).where(
            CommitStatus.sweep_id == sent.sweep_id, CommitStatus.id > sent.status_id,
            CommitStatus.outcome == "sent").values(outcome="queued", next_attempt_at=now)
            .execution_options(synchronize_session=False))
    session.commit()
    return str(values["outcome"])


def list_statuses(session: Session, sweep_id: int | None, limit: int) -> list[CommitStatus]:
    """Newest first; one sweep's when ``sweep_id`` is given."""
    stmt = select(CommitStatus).order_by(CommitStatus.id.desc()).limit(limit)
    if sweep_id is not None:
        stmt = stmt.where(CommitStatus.sweep_id == sweep_id)
    return list(session.scalars(stmt))
