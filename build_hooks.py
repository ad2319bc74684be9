"""setuptools build hooks: the wheel carries the built dashboard, as package data of ``api``.

``build_py`` copies ``frontend/dist`` into ``api/dashboard`` of the build, where the
installed API serves it (api/static.py). When the build is missing or older than the
frontend's sources it is built first, with npm, as ``make dashboard`` does. ``sdist`` makes
sure of a fresh build too and ships it with the sources (MANIFEST.in), so a wheel built from
the sdist needs no Node.js and carries the same dashboard. An editable install copies
nothing: it serves the checkout's ``frontend/dist``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

FRONTEND = Path("frontend")
DIST = FRONTEND / "dist"
# What `npm run build` reads (the Makefile's dashboard rule names the same files).
INPUTS = ("src", "index.html", "vite.config.ts", "tsconfig.json", "package.json", "scripts")


def _newest_input(frontend: Path) -> float:
    """The latest modification time among the dashboard's sources (0 when there are none)."""
    times = [0.0]
    for name in INPUTS:
        path = frontend / name
        files = path.rglob("*") if path.is_dir() else [path]
        times += [f.stat().st_mtime for f in files if f.is_file()]
    return max(times)


def _npm(*args: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("building squeezelab's wheel builds the dashboard, which needs "
                           "Node.js (>= 20.19) and npm; or build it first: "
                           "npm --prefix frontend run build")
    subprocess.run([npm, "--prefix", str(FRONTEND), *args], check=True)


def built_dashboard() -> Path:
    """``frontend/dist``, built first when it is missing or older than its sources."""
    index = DIST / "index.html"
    if index.is_file() and index.stat().st_mtime >= _newest_input(FRONTEND):
        return DIST
    if not (FRONTEND / "package.json").is_file():
        raise RuntimeError("no built dashboard (frontend/dist) and no frontend sources to "
                           "build it from")
    installed = FRONTEND / "node_modules" / ".package-lock.json"
    lock = FRONTEND / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        _npm("ci", "--no-audit", "--no-fund")  # as the lock says, never rewriting it
    _npm("run", "build")
    return DIST


class BuildPyWithDashboard(build_py):
    """``build_py`` that also copies the built dashboard to ``api/dashboard``."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "api" / "dashboard"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(built_dashboard(), target)


class SdistWithDashboard(sdist):
    """``sdist`` that builds the dashboard first when its build is missing or stale."""

    def run(self) -> None:
        built_dashboard()
        super().run()
