"""Worker registry: register (upsert), heartbeat, list."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import NotFoundError
from api.models import Worker, utcnow


def register(session: Session, data: dict[str, Any]) -> Worker:
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
    return worker


def heartbeat(session: Session, worker_id: str, current_run_id: int | None) -> Worker:
    worker = session.get(Worker, worker_id)
    if worker is None:
        raise NotFoundError("worker", worker_id)
    worker.current_run_id = current_run_id
    worker.last_heartbeat = utcnow()
    session.commit()
    return worker


def list_workers(session: Session) -> list[Worker]:
    return list(session.scalars(select(Worker).order_by(Worker.id)))


def is_alive(worker: Worker, lease_seconds: float) -> bool:
    return utcnow() - worker.last_heartbeat <= timedelta(seconds=2 * lease_seconds)
