"""Who may act on a run: the worker id and the API token that claimed its lease.

A claim records the caller's token on the run (``runs.lease_token_id``). Renewing the
lease, ending the run, posting its metrics and uploading its artifacts are then accepted
only from that token, and only while the run is running, so a worker token cannot act on
another worker's run by sending that worker's id (``lease_owner`` is public), nor write to
a run that has ended (its artifacts are immutable once it succeeded).

How a refusal reads: a run that is not running is a 409 (its state forbids the write,
whoever asks); a running run whose lease was claimed with another token is a 403 (these
credentials may not act on it: asking again cannot help). A worker that sends another
worker's id still gets the 409 it got before (the lease is another worker's: how a worker
whose lease was reaped and re-claimed learns to stop), whatever its token.

With auth off there is no token (None) and nothing to compare. A lease claimed without a
token (auth off, or before revision 0007) binds none, so runs in flight across the
upgrade finish as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, true
from sqlalchemy.orm import Session

from api.errors import ApiError, ForbiddenError, IllegalTransitionError, NotFoundError
from api.models import Run


def token_holds(token_id: int | None) -> Any:
    """SQL condition: a caller with ``token_id`` may act on the run's lease."""
    if token_id is None:
        return true()
    return or_(Run.lease_token_id.is_(None), Run.lease_token_id == token_id)


def bound_elsewhere(lease_token_id: int | None, token_id: int | None) -> bool:
    """True when the lease was claimed with a token other than the caller's."""
    return token_id is not None and lease_token_id is not None and lease_token_id != token_id


def foreign_token(run_id: int, action: str) -> ForbiddenError:
    return ForbiddenError(f"run {run_id} was claimed with another token: only that token "
                          f"may {action}")


@dataclass(frozen=True)
class RunLease:
    """What a write to a run is checked against (three columns, not the whole run)."""

    run_id: int
    sweep_id: int
    status: str
    lease_token_id: int | None

    def refusal(self, token_id: int | None, action: str) -> ApiError | None:
        """Why a caller with ``token_id`` may not ``action`` (409 or 403), or None."""
        if self.status != "running":
            return IllegalTransitionError("run", self.run_id, self.status, action)
        if bound_elsewhere(self.lease_token_id, token_id):
            return foreign_token(self.run_id, action)
        return None


def run_lease(session: Session, run_id: int, *, lock: bool = False) -> RunLease:
    """The run's lease as stored, or NotFoundError. ``lock``: hold the run's row until the
    commit (PostgreSQL), so the run cannot end between this check and the write."""
    stmt = select(Run.sweep_id, Run.status, Run.lease_token_id).where(Run.id == run_id)
    row = session.execute(stmt.with_for_update() if lock else stmt).one_or_none()
    if row is None:
        raise NotFoundError("run", run_id)
    return RunLease(run_id, row.sweep_id, row.status, row.lease_token_id)
