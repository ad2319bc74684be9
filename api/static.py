"""Serving the built dashboard at /, with a fallback to index.html for the single-page
app's own URLs. The API's paths are never touched: /api/* keeps its problem+json 404s and
405s because this route does not even match them.

Where the build is: a source checkout (or editable install) serves ``frontend/dist``, which
``make`` rebuilds; an installed wheel serves the copy the wheel build put inside the package,
``api/dashboard`` (see build_hooks.py)."""

from __future__ import annotations

import mimetypes
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match, Route
from starlette.types import Scope

# Vite puts content-hashed files under assets/: they never change, so cache them for good.
IMMUTABLE = "public, max-age=31536000, immutable"


def dashboard_dir() -> Path | None:
    """The built dashboard: the checkout's frontend/dist when there is one, else the copy
    inside the installed package; None when neither holds an index.html."""
    package = resources.files("api")
    if not isinstance(package, Path):
        return None  # zipped: FileResponse needs real files
    for candidate in (package.parent / "frontend" / "dist", package / "dashboard"):
        if (candidate / "index.html").is_file():
            return candidate
    return None


def _accepts_gzip(request: Request) -> bool:
    """``Accept-Encoding`` names gzip (or ``*``) with a quality above 0."""
    for part in request.headers.get("accept-encoding", "").split(","):
        coding, _, params = part.partition(";")
        if coding.strip().lower() not in ("gzip", "*"):
            continue
        quality = params.strip().removeprefix("q=").strip() if "q=" in params else "1"
        try:
            return float(quality) > 0
        except ValueError:
            return False
    return False


def _asset(request: Request, path: Path, cache: str) -> Response:
    """The file, or its gzip copy (written by the build) for a client that accepts gzip."""
    gz = path.with_name(path.name + ".gz")
    headers = {"Cache-Control": cache}
    if gz.is_file():
        headers["Vary"] = "Accept-Encoding"
        if _accepts_gzip(request):
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return FileResponse(gz, media_type=media_type,
                                headers={**headers, "Content-Encoding": "gzip"})
    return FileResponse(path, headers=headers)


class _DashboardRoute(Route):
    """A catch-all GET/HEAD route that declines API paths and other methods outright, so the
    router answers those exactly as it would without the dashboard."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path: str = scope.get("path", "")
        if (scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD")
                or path == "/api" or path.startswith("/api/")):
            return Match.NONE, {}
        return super().matches(scope)


def mount_dashboard(app: FastAPI, dist: Path) -> None:
    """Serve ``dist`` at /; unknown non-API paths get index.html. Does nothing when ``dist``
    has no index.html (the dashboard was not built). Call it after the API routers are
    included: the catch-all must come last."""
    root = dist.resolve()
    index = root / "index.html"
    if not index.is_file():
        return

    async def serve(request: Request) -> Response:
        rel = str(request.path_params.get("path", ""))
        candidate = (root / rel).resolve()
        if rel and candidate.is_file() and candidate.is_relative_to(root):
            cache = IMMUTABLE if rel.startswith("assets/") else "no-cache"
            return _asset(request, candidate, cache)
        if rel.startswith("assets/"):
            # A missing bundle file must not turn into an HTML page with status 200.
            raise HTTPException(404, f"no dashboard asset {rel!r}")
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.router.routes.append(_DashboardRoute("/{path:path}", serve, methods=["GET", "HEAD"],
                                             include_in_schema=False))
