"""Did a command change the git checkout? `make test` runs ``snapshot`` before the suite and
``check`` after it, and fails when the suite itself created, changed or deleted files that
git sees (tracked, or untracked and not ignored): a test run must leave the tree as it found
it. A developer's own uncommitted work is in both snapshots, so it never counts.

    python3 .ci/tree_state.py snapshot STATE   # record the state in STATE (a JSON file)
    python3 .ci/tree_state.py check STATE      # exit 1, naming the files, if it changed

Outside a git checkout (an unpacked sdist) there is nothing to compare: both do nothing.
Standard library only: it runs before the virtual environment exists.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

State = dict[str, str]  # path -> "<git status XY> <sha256 of the content, or 'absent'>"


def _git(*args: str, cwd: Path) -> bytes | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout


def tree_state(root: Path) -> State | None:
    """Every path ``git status`` lists, with its content's hash; None outside a checkout."""
    out = _git("status", "--porcelain=v1", "-z", "--untracked-files=all", cwd=root)
    if out is None:
        return None
    entries = out.decode("utf-8", "surrogateescape").split("\0")
    state: State = {}
    i = 0
    while i < len(entries) and entries[i]:
        code, path = entries[i][:2], entries[i][3:]
        i += 2 if code[0] in "RC" else 1  # a rename is followed by its original path
        file = root / path
        digest = hashlib.sha256(file.read_bytes()).hexdigest() if file.is_file() else "absent"
        state[path] = f"{code} {digest}"
    return state


def changed(before: State, after: State) -> list[str]:
    """The paths whose status or content differ between the two states."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("snapshot", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    command, record = argv[1], Path(argv[2])
    root_out = _git("rev-parse", "--show-toplevel", cwd=Path.cwd())
    if root_out is None:
        return 0
    root = Path(root_out.decode().strip())
    if command == "snapshot":
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(tree_state(root)))
        return 0
    before: State = json.loads(record.read_text())
    after = tree_state(root) or {}
    paths = changed(before, after)
    if not paths:
        return 0
    print(f"The test run changed {len(paths)} file(s) in the checkout; tests must write under "
          "a temporary folder or build/ instead (if you edited them yourself during the run, "
          "run `make test` again):", file=sys.stderr)
    for path in paths:
        print(f"  {path}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
