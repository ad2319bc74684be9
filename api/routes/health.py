"""Liveness and version, readiness (database reachable) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select, text

from api.deps import SessionDep
from api.errors import UnavailableError
from api.middleware import RequestMetrics
from api.models import Run
from compression.spec.versions import squeezelab_version

router = APIRouter(tags=["health"])


class HealthPublic(BaseModel):
    status: str
    version: str = Field(description="the API's squeezelab version", examples=["0.1.0"])


@router.get("/healthz", summary="The process is alive, and its version")
def healthz() -> HealthPublic:
    return HealthPublic(status="ok", version=squeezelab_version())


@router.get("/readyz", summary="The database answers",
            responses={503: {"description": "not ready"}})
def readyz(session: SessionDep) -> HealthPublic:
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:
        raise UnavailableError("the database is unreachable") from exc
    return HealthPublic(status="ready", version=squeezelab_version())


@router.get("/metrics", response_class=PlainTextResponse,
            summary="Prometheus metrics (text exposition format)")
def metrics(request: Request, session: SessionDep) -> str:
    counters: RequestMetrics = request.app.state.request_metrics
    lines = ["# TYPE squeezelab_http_requests_total counter"]
    for (method, status), n in sorted(counters.requests.items()):
        lines.append(f'squeezelab_http_requests_total{{method="{method}",status="{status}"}} {n}')
    lines.append("# TYPE squeezelab_http_request_seconds_total counter")
    for method, seconds in sorted(counters.seconds.items()):
        lines.append(f'squeezelab_http_request_seconds_total{{method="{method}"}} {seconds:.6f}')
    lines.append("# TYPE squeezelab_runs gauge")
    for state, n in session.execute(select(Run.status, func.count()).group_by(Run.status)):
        lines.append(f'squeezelab_runs{{status="{state}"}} {n}')
    return "\n".join(lines) + "\n"
