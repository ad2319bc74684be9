"""squeezelab as a package, installed as a new user would, outside the checkout.

The sdist and the wheel are built from the checkout and a second wheel from the sdist; the
two wheels must be the same and both artifacts pass ``twine check``. Then two fresh venvs
(no system site-packages): everything (torch first, then ``squeezelab[all]``), which runs
``squeezelab up`` from an empty directory, migrating and serving the dashboard from the
installed package; and the CLI alone, without torch or the server, which runs
``squeezelab ci`` against it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
VERSION = PROJECT["version"]
TORCH_PIN = next(r for r in PROJECT["optional-dependencies"]["worker"] if r.startswith("torch=="))


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without what would leak the checkout or this venv into the installs
    (PYTHONPATH, VIRTUAL_ENV), squeezelab's settings, or a CI's commit variables."""
    leaks = ("SQUEEZELAB_", "PYTHON", "VIRTUAL_ENV", "GITHUB_", "CI_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(leaks)}
    return {**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **extra}


def run(args: list[str | Path], cwd: Path, timeout: float = 600,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command to its end; the caller checks its exit code (the output shows why)."""
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env or clean_env(), text=True,
                          capture_output=True, timeout=timeout, check=False)


def ok(args: list[str | Path], cwd: Path, timeout: float = 600) -> str:
    done = run(args, cwd, timeout)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def make_venv(where: Path) -> Path:
    """A fresh venv (its own site-packages only); returns its bin folder."""
    ok([sys.executable, "-m", "venv", where], where.parent)
    return where / "bin"


def wheel_record(wheel: Path) -> set[tuple[str, str]]:
    """(path, sha256) of every file in the wheel but its RECORD."""
    with zipfile.ZipFile(wheel) as zf:
        return {(name, base64.urlsafe_b64encode(hashlib.sha256(zf.read(name)).digest())
                 .decode()) for name in zf.namelist() if not name.endswith("/RECORD")}


@dataclass(frozen=True)
class Built:
    sdist: Path
    wheel: Path  # from the checkout
    wheel_from_sdist: Path


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("packaging")


@pytest.fixture(scope="module")
def built(work: Path) -> Built:
    # setuptools' build folder outside the checkout: a stale build/lib there from an earlier
    # build would otherwise end up in the wheel.
    cfg = work / "setuptools.cfg"
    cfg.write_text(f"[build]\nbuild_base = {work / 'setuptools-build'}\n")
    env = clean_env(DIST_EXTRA_CONFIG=str(cfg))

    def build(*args: str | Path) -> None:
        done = run([sys.executable, "-m", "build", *args], work, env=env)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]

    tree, from_sdist = work / "tree", work / "from-sdist"
    build(ROOT, "--sdist", "--wheel", "--outdir", tree)
    (sdist,) = tree.glob("*.tar.gz")
    build(sdist, "--wheel", "--outdir", from_sdist)
    (wheel,) = tree.glob("*.whl")
    (wheel_from_sdist,) = from_sdist.glob("*.whl")
    return Built(sdist, wheel, wheel_from_sdist)


@pytest.fixture(scope="module")
def full_bin(work: Path, built: Built) -> Path:
    """A venv with everything: torch (the CPU build), then ``squeezelab[all]``."""
    bin_dir = make_venv(work / "venv-full")
    ok([bin_dir / "pip", "install", "--quiet", TORCH_PIN], work)
    ok([bin_dir / "pip", "install", "--quiet", f"{built.wheel_from_sdist}[all]"], work)
    return bin_dir


@pytest.fixture(scope="module")
def cli_bin(work: Path, built: Built) -> Path:
    """A venv with the base install only: the CLI and the SDK."""
    bin_dir = make_venv(work / "venv-cli")
    ok([bin_dir / "pip", "install", "--quiet", built.wheel_from_sdist], work)
    return bin_dir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Service:
    url: str
    home: Path  # the empty directory it was started in


@pytest.fixture(scope="module")
def service(work: Path, full_bin: Path) -> Iterator[Service]:
    """``squeezelab up`` from the full venv, started in an empty directory."""
    home = work / "empty"
    home.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (work / "up.log").open("wb")
    proc = subprocess.Popen([full_bin / "squeezelab", "up", "--port", str(port)], cwd=home,
                            env=clean_env(), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)

    def ready() -> bool:
        assert proc.poll() is None, (work / "up.log").read_text()
        try:
            return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(ready, timeout=90, what="squeezelab up", interval=0.2)
        yield Service(url, home)
    finally:
        proc.send_signal(signal.SIGINT)  # up stops its API and worker, then exits
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_the_sdist_builds_the_same_wheel_and_both_pass_twine_check(built: Built) -> None:
    assert wheel_record(built.wheel) == wheel_record(built.wheel_from_sdist)
    names = {name for name, _ in wheel_record(built.wheel)}
    versions = {p.name for p in (ROOT / "api" / "migrations" / "versions").glob("*.py")}
    assert {f"api/migrations/versions/{v}" for v in versions} <= names
    assert {"api/migrations/env.py", "api/migrations/script.py.mako",
            "api/dashboard/index.html"} <= names
    assert any(re.fullmatch(r"api/dashboard/assets/index-[\w-]+\.js", n) for n in names)
    assert not any(n.startswith(("tests/", "frontend/", "benchmarks/")) for n in names)
    with tarfile.open(built.sdist) as tar:
        members = {m.split("/", 1)[1] for m in tar.getnames() if "/" in m}
    assert {"build_hooks.py", "LICENSE", "CHANGELOG.md", "frontend/dist/index.html",
            "frontend/src/main.tsx", "frontend/package-lock.json"} <= members
    assert not any("node_modules" in m for m in members)
    ok([sys.executable, "-m", "twine", "check", "--strict", built.sdist, built.wheel,
        built.wheel_from_sdist], ROOT)


def test_everything_installed_runs_the_service_from_an_empty_directory(
        full_bin: Path, service: Service) -> None:
    home = service.home
    shutil.copy(ROOT / "examples" / "quick.yaml", home / "quick.yaml")
    where = ok([full_bin / "python", "-c", "import api, importlib.metadata as m; "
                "print(api.__file__); print(m.version('squeezelab'))"], home).split()
    assert Path(where[0]).is_relative_to(full_bin.parent), "not the installed package"
    assert where[1] == VERSION
    assert ok([full_bin / "squeezelab", "--version"], home).split()[-1] == VERSION

    submitted = ok([full_bin / "squeezelab", "--api-url", service.url, "submit", "quick.yaml",
                    "--wait"], home, timeout=300)
    assert re.search(r"5 runs: 5 succeeded", submitted), submitted
    # Migrated and served from the package: the data went where `up` was started.
    assert (home / ".squeezelab" / "squeezelab.db").is_file()

    page = httpx.get(f"{service.url}/sweeps/1")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<div id="app">' in page.text
    scripts = re.findall(r'src="(/assets/[^"]+\.js)"', page.text)
    assert scripts and all(httpx.get(service.url + s).status_code == 200 for s in scripts)


def test_the_cli_alone_runs_a_ci_gate_against_the_service(
        work: Path, cli_bin: Path, service: Service) -> None:
    heavy = ("torch", "numpy", "fastapi", "sqlalchemy", "celery", "uvicorn", "onnxruntime")
    found = ok([cli_bin / "python", "-c", "import importlib.util as u; "
                f"print([m for m in {heavy!r} if u.find_spec(m)])"], work)
    assert found.strip() == "[]"

    refused = run([cli_bin / "squeezelab", "api"], work)
    assert refused.returncode == 2
    assert "pip install 'squeezelab[server]'" in refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr

    spec = yaml.safe_load((ROOT / "examples" / "ci.yaml").read_text())
    spec["gates"] = {"max_accuracy_drop": 0.5}  # about the CLI, not this machine's speedup
    (work / "spec.yaml").write_text(yaml.safe_dump(spec))
    gated = run([cli_bin / "squeezelab", "--api-url", service.url, "ci", "spec.yaml", "--wait",
                 "--repo", "octo-org/models", "--ref", "refs/heads/main",
                 "--sha", "6113728f27ae82c7b1a177c8d03f9e96e0adf246"], work, timeout=300)
    assert gated.returncode == 0, gated.stdout + gated.stderr
    assert "| max_accuracy_drop |" in gated.stdout and "octo-org/models" in gated.stdout
