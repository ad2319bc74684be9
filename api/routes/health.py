"""Liveness and version, readiness (database reachable) and Prometheus metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from api.deps import SessionDep, SettingsDep
from api.middleware import RequestMetrics
from api.models import Run
from api.readiness import ReadinessProbe
from api.services.tokens import authenticate
from compression.spec.versions import squeezelab_version

router = APIRouter(tags=["health"])


class HealthPublic(BaseModel):
    status: str
    version: str = Field(description="the API's squeezelab version", examples=["0.1.0"])


@router.get("/healthz", summary="The process is alive, and its version")
async def healthz() -> HealthPublic:
    # async, without dependencies: answered on the event loop, never behind busy threads.
    return HealthPublic(status="ok", version=squeezelab_version())


@router.get("/readyz", summary="The database answers",
            responses={503: {"description": "not ready"}})
async def readyz(request: Request) -> HealthPublic:
    """SELECT 1 within ``ready_timeout_s`` on a connection of its own, asked on the event
    loop (``api.readiness``): not behind the requests waiting for a slot or a thread."""
    probe: ReadinessProbe = request.app.state.readiness
    await probe.check()
    return HealthPublic(status="ready", version=squeezelab_version())


def scrape_access(request: Request, settings: SettingsDep, session: SessionDep) -> None:
    """A token with the metrics scope, unless ``SQUEEZELAB_METRICS_AUTH=public`` (401/403)."""
    if settings.auth == "on" and settings.metrics_auth == "token":
        authenticate(session, request.headers.get("authorization")).require("metrics")


@router.get("/metrics", response_class=PlainTextResponse,
            summary="Prometheus metrics (text exposition format)",
            description="Needs a token with the `metrics` scope (which `read` and every "
                        "other scope include) unless the server sets "
                        "`SQUEEZELAB_METRICS_AUTH=public`.",
            responses={401: {"description": "no token, or an unknown or revoked one"},
                       403: {"description": "the token lacks the metrics scope"}})
def metrics(request: Request, session: SessionDep,
            _: Annotated[None, Depends(scrape_access)]) -> str:
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
