"""The application factory: settings, database, enqueuer, reconciler, routes and errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import Depends, FastAPI

from api.db import Database, DbLimits
from api.enqueue import DeferredEnqueuer, Enqueuer
from api.events import EventBus
from api.json_body import refuse_unstorable_text
from api.middleware import RequestContextMiddleware, RequestMetrics
from api.notifier import StatusNotifier
from api.openapi import install_openapi
from api.overload import AdmissionControl, AdmissionLimits, counted_path
from api.problems import install_problem_handlers
from api.producer import CeleryProducer
from api.readiness import ReadinessProbe
from api.reconciler import Reconciler
from api.routes import (
    artifacts,
    events,
    health,
    metrics,
    runs,
    sweeps,
    tokens,
    triggers,
    uploads,
    webhooks,
    workers,
)
from api.services.context import Effects
from api.services.tokens import ensure_admin_token
from api.settings import Settings, get_settings
from api.static import dashboard_dir, mount_dashboard

API_VERSION = "1.0.0"


def create_app(settings: Settings | None = None, enqueuer: Enqueuer | None = None) -> FastAPI:
    """Build the app. ``settings`` defaults to the environment's; ``enqueuer`` to a Celery
    producer on ``settings.broker_url``, or without one to an enqueuer that leaves runs
    queued. The reconciler and the commit-status notifier run while the app does (unless
    ``reconcile_interval_s`` / ``status_poll_interval_s`` is 0)."""
    settings = settings or get_settings()
    db = Database(settings.database_url, DbLimits(
        pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow,
        pool_timeout_s=settings.db_pool_timeout_s,
        connect_timeout_s=settings.db_connect_timeout_s,
        statement_timeout_s=settings.db_statement_timeout_s))
    producer = None
    if enqueuer is None and settings.broker_url:
        enqueuer = producer = CeleryProducer(settings.broker_url)
    enqueuer = enqueuer or DeferredEnqueuer()
    bus = EventBus()
    reconciler = Reconciler(db, Effects(settings, enqueuer, bus),
                            settings.reconcile_interval_s)
    notifier = StatusNotifier(db, settings)
    readiness = ReadinessProbe(db, settings.database_url, settings.ready_timeout_s,
                               settings.db_connect_timeout_s)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Threads for every admitted request (sync handlers and dependencies) and then
        # some for the rest (event-stream token checks, uploads' file writes).
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, settings.db_pool_size + 20)
        if settings.admin_token is not None:
            with db.session() as session:
                ensure_admin_token(session, settings.admin_token.get_secret_value())
        if settings.reconcile_interval_s > 0:
            reconciler.start()
        notifier.start()
        try:
            yield
        finally:
            reconciler.stop()
            notifier.stop()
            await readiness.close()
            if producer is not None:
                producer.close()
            db.dispose()

    app = FastAPI(title="squeezelab", version=API_VERSION, lifespan=lifespan,
                  description="Experiment tracking for model-compression sweeps.",
                  dependencies=[Depends(refuse_unstorable_text)])
    app.state.db = db
    app.state.settings = settings
    app.state.readiness = readiness
    app.state.enqueuer = enqueuer
    app.state.events = bus
    app.state.reconciler = reconciler
    app.state.notifier = notifier
    app.state.request_metrics = RequestMetrics()

    def body_limit(path: str) -> int:
        large = "/artifacts/" in path or path.rstrip("/") == "/api/v1/uploads"
        return settings.max_artifact_bytes if large else settings.max_body_bytes

    # Added first, so it runs inside the request context (ids, metrics) of the next one.
    app.add_middleware(AdmissionControl, counted=counted_path, limits=AdmissionLimits(
        running=settings.db_pool_size, waiting=settings.max_waiting_requests,
        max_wait_s=settings.max_wait_s))
    app.add_middleware(RequestContextMiddleware, limit_for=body_limit,
                       metrics=app.state.request_metrics)
    install_problem_handlers(app)
    for module in (health, sweeps, runs, metrics, artifacts, uploads, workers, events, tokens,
                   triggers, webhooks):
        app.include_router(module.router)
    install_openapi(app)
    # Last: the dashboard's catch-all route must not shadow any API route. Not built (no
    # `make dashboard` in a checkout): nothing is mounted.
    dist = dashboard_dir()
    if dist is not None:
        mount_dashboard(app, dist)
    return app

