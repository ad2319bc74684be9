"""Worker registry: register (upsert), heartbeat, list."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import NotFoundError
from api.models import Worker, utcnow
from api.services.context import Effects


def _announce(fx: Effects, worker: Worker) -> None:
    """A worker appeared or changed runs: live dashboards (the workers page) hear it."""
    fx.events.publish(None, {"type": "worker", "worker_id": worker.id,
                             "current_run_id": worker.current_run_id})


def register(session: Session, fx: Effects, data: dict[str, Any]) -> Worker:
    """Create or refresh a worker; a restarted worker keeps its id and history."""
    worker = session.get(Worker, data["id"])
    now = utcnow()
    if worker is None:
        worker = Worker(**data, registered_at=now, last_heartbeat=now)
        session.add(worker)
    else:
        for key, value in data.items():
            setattr(worker, key, value)
        worker.last_heartbeat = now
    session.commit()
    _announce(fx, worker)
    return worker


def heartbeat(session: Session, fx: Effects, worker_id: str,
              current_run_id: int | None) -> Worker:
    worker = session.get(Worker, worker_id)
    if worker is None:
        raise NotFoundError("worker", worker_id)
    changed = worker.current_run_id != current_run_id
    worker.current_run_id = current_run_id
    worker.last_heartbeat = utcnow()
    session.commit()
    if changed:
        _announce(fx, worker)
    return worker


def list_workers(session: Session) -> list[Worker]:
    return list(session.scalars(select(Worker).order_by(Worker.id)))


def is_alive(worker: Worker, lease_seconds: float) -> bool:
    return utcnow() - worker.last_heartbeat <= timedelta(seconds=2 * lease_seconds)
