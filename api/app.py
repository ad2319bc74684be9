"""The application factory: settings, database, enqueuer, reconciler, routes and errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.db import Database
from api.enqueue import DeferredEnqueuer, Enqueuer
from api.events import EventBus
from api.middleware import RequestContextMiddleware, RequestMetrics
from api.notifier import StatusNotifier
from api.openapi import install_openapi
from api.problems import install_problem_handlers
from api.producer import CeleryProducer
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
    db = Database(settings.database_url, settings.db_connect_timeout_s)
    producer = None
    if enqueuer is None and settings.broker_url:
        enqueuer = producer = CeleryProducer(settings.broker_url)
    enqueuer = enqueuer or DeferredEnqueuer()
    bus = EventBus()
    reconciler = Reconciler(db, Effects(settings, enqueuer, bus),
                            settings.reconcile_interval_s)
    notifier = StatusNotifier(db, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
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
            if producer is not None:
                producer.close()
            db.dispose()

    app = FastAPI(title="squeezelab", version=API_VERSION, lifespan=lifespan,
                  description="Experiment tracking for model-compression sweeps.")
    app.dependency_overrides[get_settings] = lambda: settings
    app.state.db = db
    app.state.enqueuer = enqueuer
    app.state.events = bus
    app.state.reconciler = reconciler
    app.state.notifier = notifier
    app.state.request_metrics = RequestMetrics()

    def body_limit(path: str) -> int:
        large = "/artifacts/" in path or path.rstrip("/") == "/api/v1/uploads"
        return settings.max_artifact_bytes if large else settings.max_body_bytes

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

