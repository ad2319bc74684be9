"""Dockerfile, .dockerignore and docker-compose.yml agree with the repository and the design.

No Docker engine runs in CI, so these tests read the files: they catch a COPY of a path that
is gone, database credentials handed to a worker, a dependency on a missing service, and the
like, before anyone tries to build.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
REQUIRED_SERVICES = {"postgres", "redis", "api", "worker-cpu", "worker-gpu"}
WORKERS = ("worker-cpu", "worker-gpu")
SECRET_KEY = re.compile(r"PASSWORD|TOKEN|SECRET", re.IGNORECASE)
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?[-?+]([^}]*))?\}")


# ---------------------------------------------------------------- helpers


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        pending = ""
    return instructions


def copy_sources(args: str) -> list[str] | None:
    """The source paths of a COPY from the build context; None for COPY --from."""
    words = json.loads(args) if args.startswith("[") else shlex.split(args)
    flags = [w for w in words if w.startswith("--")]
    if any(f.startswith("--from") for f in flags):
        return None
    paths = [w for w in words if not w.startswith("--")]
    return paths[:-1]


def ignore_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex: `*` stays within a folder, `**` crosses folders."""
    out = ""
    for token in re.split(r"(\*\*/|\*\*|\*|\?)", pattern.strip("/")):
        out += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
            token, re.escape(token))
    return re.compile(out)


def dockerignore_excludes(path: str, patterns: list[str]) -> bool:
    """Whether the build context leaves `path` out (a pattern matches it or a parent folder)."""
    parts = Path(path.rstrip("/")).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:  # later patterns win, as in Docker
        negate = pattern.startswith("!")
        regex = ignore_regex(pattern.removeprefix("!"))
        if any(regex.fullmatch(c) for c in candidates):
            excluded = not negate
    return excluded


def stages(instructions: list[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    """The instructions of each build stage by its name (``FROM ... AS name``); the last,
    the image itself, also under ``""``."""
    starts = [i for i, (kind, _) in enumerate(instructions) if kind == "FROM"]
    found: dict[str, list[tuple[str, str]]] = {}
    for start, end in zip(starts, [*starts[1:], len(instructions)], strict=True):
        words = instructions[start][1].split()
        name = words[-1] if len(words) == 3 and words[1].upper() == "AS" else str(start)
        found[name] = instructions[start:end]
    found[""] = instructions[starts[-1]:]
    return found


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def command_words(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(w) for w in command]


def published_container_ports(service: dict[str, Any]) -> set[int]:
    ports: set[int] = set()
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            if entry.get("published") is not None:
                ports.add(int(entry["target"]))
            continue
        text = INTERPOLATION.sub("0", str(entry)).split("/")[0]
        host_and_container = text.rsplit(":", 1)
        if len(host_and_container) == 2:  # a bare "8000" is not published on a fixed port
            ports.add(int(host_and_container[1]))
    return ports


def volume_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each mount; a source that is not a path is a named volume."""
    mounts = []
    for entry in service.get("volumes", []):
        if isinstance(entry, dict):
            mounts.append((str(entry.get("source", "")), str(entry["target"])))
        else:
            source, target = str(entry).split(":")[:2]
            mounts.append((source, target))
    return mounts


def is_named_volume(source: str) -> bool:
    return bool(source) and not source.startswith((".", "/", "~", "$"))


def torch_pin() -> str:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dependencies: list[str] = pyproject["project"]["optional-dependencies"]["worker"]
    pins = [d for d in dependencies if re.match(r"torch\s*==", d)]
    assert len(pins) == 1, pins
    return pins[0].replace(" ", "")


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


@pytest.fixture(scope="module")
def instructions() -> list[tuple[str, str]]:
    return dockerfile_instructions((ROOT / "Dockerfile").read_text())


@pytest.fixture(scope="module")
def ignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


# ---------------------------------------------------------------- Dockerfile


def test_dockerfile_pins_the_same_torch_as_pyproject(instructions: list[tuple[str, str]]) -> None:
    pin = torch_pin()
    torch_runs = [args for kind, args in instructions if kind == "RUN" and "torch==" in args]
    assert len(torch_runs) == 1
    assert pin in torch_runs[0].split()
    assert "--index-url" in torch_runs[0] and "TORCH_INDEX_URL" in torch_runs[0]
    index_arg = [args for kind, args in instructions if kind == "ARG"
                 and args.startswith("TORCH_INDEX_URL=")]
    assert index_arg == ["TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu"]


def test_the_wheel_stage_builds_from_every_package(
        instructions: list[tuple[str, str]]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]
                ["include"]}
    wheel = stages(instructions)["wheel"]
    copied = {src.rstrip("/") for kind, args in wheel if kind == "COPY"
              for src in copy_sources(args) or []}
    needed = {"pyproject.toml", "build_hooks.py", project["project"]["readme"],
              *project["project"]["license-files"]}
    assert packages | needed <= copied, f"not copied: {(packages | needed) - copied}"
    assert any(kind == "RUN" and re.search(r"pip wheel\b.*--no-deps.*\s\.$", args)
               for kind, args in wheel)


def test_torch_then_dependencies_then_the_wheel(instructions: list[tuple[str, str]]) -> None:
    image = stages(instructions)[""]

    def first(predicate: Any) -> int:
        return next(i for i, item in enumerate(image) if predicate(*item))

    torch = first(lambda kind, args: kind == "RUN" and "torch==" in args)
    pyproject = first(lambda kind, args: kind == "COPY" and "pyproject.toml" in args)
    dependencies = first(lambda kind, args: kind == "RUN" and "-r /tmp/requirements.txt" in args)
    wheel = first(lambda kind, args: kind == "COPY" and args.startswith("--from=wheel"))
    install = first(lambda kind, args: kind == "RUN"
                    and re.search(r"pip install --no-deps /wheels/\S*\.whl", args) is not None)
    # Editing code must not invalidate the torch and dependency layers.
    assert torch < pyproject < dependencies < wheel < install
    sources = [src for kind, args in image if kind == "COPY" for src in copy_sources(args) or []]
    assert sources == ["pyproject.toml"], "code copied into the image, not installed as a wheel"
    # The image gets what `pip install 'squeezelab[all]'` gets.
    assert "'server', 'worker'" in image[dependencies][1]


def test_copy_sources_exist_and_are_in_the_build_context(
        instructions: list[tuple[str, str]], ignore_patterns: list[str]) -> None:
    sources = [src for kind, args in instructions if kind == "COPY"
               for src in copy_sources(args) or []]
    assert sources
    for src in sources:
        assert (ROOT / src).exists(), f"COPY {src}: not in the repository"
        assert not dockerignore_excludes(src, ignore_patterns), f"COPY {src}: in .dockerignore"
    readme = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["readme"]
    assert readme in sources, "setuptools needs the readme that pyproject.toml names"


def test_image_runs_as_a_non_root_user_unbuffered(instructions: list[tuple[str, str]]) -> None:
    users = [i for i, (kind, _) in enumerate(instructions) if kind == "USER"]
    assert users, "no USER instruction: the image would run as root"
    user = instructions[users[-1]][1].split(":")[0]
    assert user not in {"root", "0"}
    created = [args for kind, args in instructions[: users[-1]] if kind == "RUN"
               and re.search(rf"(useradd|adduser)\b.*\b{re.escape(user)}\b", args)]
    assert created or user.isdigit(), f"USER {user} is never created"
    entry = [i for i, (kind, _) in enumerate(instructions) if kind in {"CMD", "ENTRYPOINT"}]
    assert entry and users[-1] < entry[-1]
    env = " ".join(args for kind, args in instructions if kind == "ENV")
    assert re.search(r"\bPYTHONUNBUFFERED=1\b", env)


def test_dockerignore_keeps_secrets_and_local_state_out(ignore_patterns: list[str]) -> None:
    for path in (".env", ".git", ".venv", "squeezelab.egg-info", "api/__pycache__"):
        assert dockerignore_excludes(path, ignore_patterns), path


# ---------------------------------------------------------------- docker-compose.yml


def test_every_required_service_exists(services: dict[str, dict[str, Any]]) -> None:
    assert services.keys() >= REQUIRED_SERVICES


@pytest.mark.parametrize("name", ["api", *WORKERS])
def test_project_services_build_from_the_dockerfile(
        services: dict[str, dict[str, Any]], name: str) -> None:
    build = services[name].get("build")
    assert build is not None, f"{name} does not build"
    context, dockerfile = (build, "Dockerfile") if isinstance(build, str) else (
        build.get("context", "."), build.get("dockerfile", "Dockerfile"))
    assert (ROOT / context).resolve() == ROOT
    assert (ROOT / context / dockerfile).resolve() == ROOT / "Dockerfile"


@pytest.mark.parametrize("name", WORKERS)
def test_workers_get_no_database_credentials(
        services: dict[str, dict[str, Any]], name: str) -> None:
    worker = services[name]
    env = environment(worker)
    assert "env_file" not in worker, "an env_file would hand the worker every secret"
    assert not any("DATABASE" in key for key in env)
    for value in env.values():
        assert "POSTGRES_PASSWORD" not in value and "postgresql" not in value
        assert "ADMIN_TOKEN" not in value, "workers need a `worker` token, not the admin one"
    assert env["SQUEEZELAB_API_URL"] == "http://api:8000"
    assert env["SQUEEZELAB_BROKER_URL"] == environment(services["api"])["SQUEEZELAB_BROKER_URL"]
    assert INTERPOLATION.fullmatch(env["SQUEEZELAB_TOKEN"])


@pytest.mark.parametrize(("name", "queue"), [("worker-cpu", "cpu"), ("worker-gpu", "gpu")])
def test_workers_consume_their_queue(
        services: dict[str, dict[str, Any]], name: str, queue: str) -> None:
    words = command_words(services[name])
    assert words[:2] == ["squeezelab", "worker"]
    assert words[words.index("--queues") + 1] == queue


def test_gpu_worker_reserves_an_nvidia_gpu_under_the_gpu_profile(
        services: dict[str, dict[str, Any]]) -> None:
    gpu = services["worker-gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", [])
               and (d.get("count") in (1, "all") or d.get("device_ids")) for d in devices)
    # A CPU-only torch build would leave the GPU unused.
    assert "/cpu" not in gpu["build"].get("args", {}).get("TORCH_INDEX_URL", "/cpu")
    # `docker compose up` must work on a machine without a GPU.
    assert gpu.get("profiles") == ["gpu"]
    assert all("profiles" not in s for n, s in services.items() if n != "worker-gpu")


def test_depends_on_targets_exist_and_wait_for_health(
        services: dict[str, dict[str, Any]]) -> None:
    assert depends_on(services["api"]).keys() >= {"postgres", "redis"}
    for name, service in services.items():
        for target, condition in depends_on(service).items():
            assert target in services, f"{name} depends on unknown {target}"
            if "healthcheck" in services[target]:
                assert condition == "service_healthy", f"{name} -> {target}: {condition}"


def test_stateful_services_have_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    for name in ("postgres", "redis", "api"):
        assert services[name].get("healthcheck", {}).get("test"), name
    assert "/readyz" in " ".join(map(str, services["api"]["healthcheck"]["test"]))


def test_named_volumes_are_declared_and_used(
        compose: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    declared = set(compose.get("volumes") or {})
    used = {source for s in services.values() for source, _ in volume_mounts(s)
            if is_named_volume(source)}
    assert used <= declared, f"undeclared volumes: {used - declared}"
    assert declared <= used, f"unused volumes: {declared - used}"
    assert any(is_named_volume(src) and target == "/var/lib/postgresql/data"
               for src, target in volume_mounts(services["postgres"]))


def test_api_publishes_8000_and_keeps_artifacts_on_a_volume(
        services: dict[str, dict[str, Any]]) -> None:
    api = services["api"]
    assert 8000 in published_container_ports(api)
    words = command_words(api)
    assert words[:2] == ["squeezelab", "api"]
    assert words[words.index("--host") + 1] == "0.0.0.0"
    assert words[words.index("--port") + 1] == "8000"
    env = environment(api)
    assert env["SQUEEZELAB_AUTH"] == "on"
    assert env["SQUEEZELAB_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in env["SQUEEZELAB_DATABASE_URL"]
    assert env["SQUEEZELAB_BROKER_URL"].startswith("redis://redis:6379/")
    assert any(is_named_volume(src) and target == env["SQUEEZELAB_ARTIFACT_DIR"]
               for src, target in volume_mounts(api))


def test_no_secret_is_committed(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for key, value in environment(service).items():
            if not SECRET_KEY.search(key):
                continue
            match = INTERPOLATION.fullmatch(value)
            assert match, f"{name}.{key} is a literal; take it from the environment"
            assert not match.group(2) or value.startswith(f"${{{match.group(1)}:?"), (
                f"{name}.{key} has a default secret")
    postgres_password = environment(services["postgres"])["POSTGRES_PASSWORD"]
    password_var = INTERPOLATION.fullmatch(postgres_password)
    assert password_var
    assert f"${{{password_var.group(1)}" in environment(services["api"])["SQUEEZELAB_DATABASE_URL"]


def test_every_compose_variable_is_documented() -> None:
    variables = set(INTERPOLATION.findall((ROOT / "docker-compose.yml").read_text()))
    docs = (ROOT / "docs" / "deployment.md").read_text()
    missing = {name for name, _ in variables if name not in docs}
    assert not missing, f"docs/deployment.md does not mention {missing}"
    for service in REQUIRED_SERVICES:
        assert service in docs


# ---------------------------------------------------------------- the helpers themselves


def test_dockerignore_matching() -> None:
    patterns = [".venv", "**/__pycache__", "*.egg-info", "tests", "!tests/keep"]
    assert dockerignore_excludes(".venv/bin/python", patterns)
    assert dockerignore_excludes("api/routes/__pycache__", patterns)
    assert dockerignore_excludes("squeezelab.egg-info", patterns)
    assert dockerignore_excludes("tests/unit", patterns)
    assert not dockerignore_excludes("tests/keep", patterns)
    assert not dockerignore_excludes("api/app.py", patterns)


def test_port_and_copy_parsing() -> None:
    service = {"ports": ["${API_PORT:-8000}:8000", "127.0.0.1:9000:9001/tcp", "7000",
                         {"target": 5000, "published": 5001}]}
    assert published_container_ports(service) == {8000, 9001, 5000}
    assert copy_sources("--chown=a:b pyproject.toml README.md ./") == ["pyproject.toml",
                                                                       "README.md"]
    assert copy_sources('["api/", "api/"]') == ["api/"]
    assert copy_sources("--from=build /app /app") is None


def test_the_image_carries_the_built_dashboard_where_the_api_serves_it(
        instructions: list[tuple[str, str]]) -> None:
    by_name = stages(instructions)
    assert "dashboard" in by_name and "wheel" in by_name
    assert any(kind == "RUN" and "npm run build" in args for kind, args in by_name["dashboard"])
    # The wheel stage puts the build where build_hooks.py takes it from for the wheel
    # (which then holds it as api/dashboard, served by the installed API).
    copies = [args.split() for kind, args in by_name["wheel"] if kind == "COPY"
              and "--from=dashboard" in args]
    hooks = importlib.util.spec_from_file_location("build_hooks", ROOT / "build_hooks.py")
    assert hooks is not None and hooks.loader is not None
    module = importlib.util.module_from_spec(hooks)
    hooks.loader.exec_module(module)
    assert len(copies) == 1 and copies[0][-1].rstrip("/") == str(module.DIST)
    assert [args for kind, args in by_name[""] if kind == "WORKDIR"] == ["/app"]
