"""The optional parts: the modules each command checks agree with pyproject.toml's extras, a
missing part is one line naming the extra, and the CLI starts without any of them."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from squeezelab import extras
from squeezelab.cli import app

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
SERVER_AND_ENGINE = {"torch", "numpy", "onnxruntime", "fastapi", "uvicorn", "sqlalchemy",
                     "alembic", "celery", "pydantic_settings", "api", "workers"}


def distribution(requirement: str) -> str:
    """The normalised distribution name of a requirement line."""
    name = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert name is not None, requirement
    return re.sub(r"[-_.]+", "-", name.group()).lower()


def requirements(extra: str) -> set[str]:
    """The distributions ``squeezelab[extra]`` adds, with other extras it names expanded."""
    found: set[str] = set()
    for line in PROJECT["optional-dependencies"][extra]:
        if line.startswith("squeezelab["):
            for inner in line[len("squeezelab["):line.index("]")].split(","):
                found |= requirements(inner)
        else:
            found.add(distribution(line))
    return found


def provided_by() -> dict[str, set[str]]:
    """Top-level module -> the distributions that install it (all installed in this venv)."""
    return {module: {distribution(d) for d in dists}
            for module, dists in metadata.packages_distributions().items()}


@pytest.mark.parametrize("extra", ["server", "worker", "all"])
def test_checked_modules_match_the_extra(extra: str) -> None:
    owners = provided_by()
    wanted = requirements(extra)
    checked = {owner for module in extras.MODULES[extra] for owner in owners[module]}
    assert checked <= wanted, f"checked but not in squeezelab[{extra}]: {checked - wanted}"
    assert wanted <= checked, f"in squeezelab[{extra}] but never checked: {wanted - checked}"


def test_the_base_install_is_the_cli_and_sdk_only() -> None:
    assert {distribution(r) for r in PROJECT["dependencies"]} == {
        "httpx", "pydantic", "pyyaml", "typer", "rich"}
    assert requirements("dev") >= requirements("all") | requirements("hf")


def test_a_missing_part_is_one_line_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = extras.find_spec

    def without_fastapi(name: str) -> object:
        return None if name in ("fastapi", "torch") else real(name)

    monkeypatch.setattr(extras, "find_spec", without_fastapi)
    runner = CliRunner()
    for args, extra, missing in ((["api"], "server", "fastapi"),
                                 (["worker"], "worker", "torch"),
                                 (["up"], "all", "fastapi, torch"),
                                 (["tasks"], "worker", "torch")):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert f"pip install 'squeezelab[{extra}]'" in result.output
        assert f"not installed here: {missing})" in " ".join(result.output.split())
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_the_cli_imports_neither_the_server_nor_the_engine_at_startup() -> None:
    code = ("import sys\n"
            "import squeezelab.cli, client\n"
            f"print(sorted(m for m in {sorted(SERVER_AND_ENGINE)!r} if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
