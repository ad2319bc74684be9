"""/api/v1/workers: register, heartbeat, list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import EffectsDep, Reader, SessionDep, SettingsDep, WorkerAuth
from api.models import Worker
from api.schemas.workers import WorkerHeartbeat, WorkerPublic, WorkerRegister, WorkersPublic
from api.services import workers as service
from compression.spec.types import WORD
from compression.spec.versions import squeezelab_version

router = APIRouter(prefix="/api/v1/workers", tags=["workers"])
WorkerIdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=rf"^[{WORD}.:@\-]+$")]


def _public(worker: Worker, lease_seconds: float) -> WorkerPublic:
    return WorkerPublic(
        id=worker.id, hostname=worker.hostname, queues=worker.queues, tasks=worker.tasks,
        hardware=worker.hardware, version=worker.version, torch_version=worker.torch_version,
        current_run_id=worker.current_run_id,
        registered_at=worker.registered_at, last_heartbeat=worker.last_heartbeat,
        alive=service.is_alive(worker, lease_seconds))


@router.post("", summary="Register a worker (or refresh its registration)")
def register(body: WorkerRegister, _: WorkerAuth, session: SessionDep, fx: EffectsDep,
             settings: SettingsDep) -> WorkerPublic:
    return _public(service.register(session, fx, body.model_dump()), settings.lease_seconds)


@router.post("/{worker_id}/heartbeat", summary="A worker is alive and working on a run")
def heartbeat(worker_id: WorkerIdPath, body: WorkerHeartbeat, _: WorkerAuth,
              session: SessionDep, fx: EffectsDep, settings: SettingsDep) -> WorkerPublic:
    worker = service.heartbeat(session, fx, worker_id, body.current_run_id)
    return _public(worker, settings.lease_seconds)


@router.get("", summary="List workers")
def list_(_: Reader, session: SessionDep, settings: SettingsDep) -> WorkersPublic:
    return WorkersPublic(items=[_public(w, settings.lease_seconds)
                                for w in service.list_workers(session)],
                         api_version=squeezelab_version())
