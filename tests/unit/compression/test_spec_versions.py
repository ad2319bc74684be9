"""Versions: the installed one, a checkout's fallback, and the summary's typed record."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from compression.measure import engine_versions
from compression.spec import RunSummary
from compression.spec import versions as versions_module
from compression.spec.versions import (
    UNKNOWN,
    EngineVersions,
    checkout_version,
    distribution_version,
    squeezelab_version,
)

pytestmark = pytest.mark.unit
ROOT = Path(__file__).parents[3]


@pytest.fixture
def uncached() -> Iterator[None]:
    squeezelab_version.cache_clear()
    yield
    squeezelab_version.cache_clear()


def test_the_installed_version_is_the_distributions(uncached: None) -> None:
    assert squeezelab_version() == metadata.version("squeezelab")


def test_an_uninstalled_checkout_reads_pyproject(uncached: None,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(versions_module.metadata, "version", not_installed)
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get("version")
    assert squeezelab_version() == (declared or UNKNOWN)


@pytest.mark.parametrize(("text", "expected"), [
    ('[project]\nname = "x"\nversion = "1.2.3"\n', "1.2.3"),
    ('[project]\nname = "x"\ndynamic = ["version"]\n', UNKNOWN),
    ("not toml [", UNKNOWN),
])
def test_checkout_version(tmp_path: Path, text: str, expected: str) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(text)
    assert checkout_version(pyproject) == expected
    assert checkout_version(tmp_path / "missing.toml") == UNKNOWN


def test_distribution_version() -> None:
    assert distribution_version("pydantic") == metadata.version("pydantic")
    assert distribution_version("no-such-distribution-squeezelab") is None


def test_engine_versions_name_this_process() -> None:
    import onnxruntime
    import torch

    found = engine_versions()
    assert found.squeezelab == squeezelab_version()
    assert (found.torch, found.onnxruntime) == (torch.__version__, onnxruntime.__version__)


def test_a_summary_round_trips_its_versions_and_keeps_unknown_libraries() -> None:
    posted = {"versions": {"squeezelab": "0.2.0", "torch": "2.13.0", "onnx": "1.19.0"}}
    summary = RunSummary.model_validate(posted)
    assert isinstance(summary.versions, EngineVersions)
    assert summary.versions.transformers is None
    assert summary.to_json() == posted
