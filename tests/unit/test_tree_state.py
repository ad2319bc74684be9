"""`make test`'s last step (.ci/tree_state.py): a run that changes the checkout fails and
names the files; the developer's own uncommitted work before the run does not count."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
SCRIPT = Path(__file__).parents[2] / ".ci" / "tree_state.py"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   cwd=repo, check=True, capture_output=True)


def tree_state(repo: Path, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), command, "build/state.json"],
                          cwd=repo, capture_output=True, text=True, timeout=60)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A checkout with committed files, and work in progress: an edit and a new file."""
    git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text("/build/\n")
    for name in ("kept.txt", "wip.txt", "touched.png", "doomed.txt", "renamed.txt"):
        (tmp_path / name).write_text(f"{name}\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "start")
    (tmp_path / "wip.txt").write_text("my edit\n")
    (tmp_path / "notes.md").write_text("mine\n")
    git(tmp_path, "mv", "renamed.txt", "moved.txt")
    return tmp_path


def test_a_run_that_leaves_the_tree_alone_passes(repo: Path) -> None:
    assert tree_state(repo, "snapshot").returncode == 0
    (repo / "build" / "screenshots").mkdir(parents=True)
    (repo / "build" / "screenshots" / "page.png").write_bytes(b"ignored output")
    done = tree_state(repo, "check")
    assert done.returncode == 0, done.stderr


def test_a_run_that_changes_files_fails_naming_only_those(repo: Path) -> None:
    assert tree_state(repo, "snapshot").returncode == 0
    (repo / "touched.png").write_bytes(b"a new screenshot")
    (repo / "wip.txt").write_text("my edit, then the run's\n")  # changed again by the run
    (repo / "doomed.txt").unlink()
    (repo / "results.json").write_text("{}")
    done = tree_state(repo, "check")
    assert done.returncode == 1
    named = [line.strip() for line in done.stderr.splitlines() if line.startswith("  ")]
    assert named == ["doomed.txt", "results.json", "touched.png", "wip.txt"]


def test_outside_a_checkout_there_is_nothing_to_check(tmp_path: Path) -> None:
    assert tree_state(tmp_path, "snapshot").returncode == 0
    assert tree_state(tmp_path, "check").returncode == 0
    assert not (tmp_path / "build").exists()
