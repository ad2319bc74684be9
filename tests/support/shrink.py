"""Example specs made small enough for the suite: fewer epochs, fewer samples, fast latency."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

EXAMPLES = Path(__file__).parents[2] / "examples"


def shrunk_example(name: str, out_dir: Path, *, absolute_paths: bool = True,
                   **data_changes: Any) -> Path:
    """``examples/<name>`` with 3 baseline epochs, 1 fine-tuning epoch and 3 timed calls;
    ``data_changes`` update the task's data block. Paths in the examples start at the
    repository root; ``absolute_paths`` makes them absolute (a worker anywhere finds them)."""
    spec = yaml.safe_load((EXAMPLES / name).read_text())
    spec["baseline"]["epochs"] = 3
    for recipe in spec["recipes"]:
        if "finetune" in recipe:
            recipe["finetune"]["epochs"] = 1
        if recipe.get("schedule", {}).get("kind") == "agp":
            recipe["schedule"]["end_epoch"] = 1
    spec["measure"]["latency"].update(batch_sizes=[1, 8], warmup=1, repeats=3)
    spec.pop("gates", None)
    data = spec["task"]["data"]
    data.update(data_changes)
    if absolute_paths and "python" in data:
        data["python"] = str(EXAMPLES.parent / data["python"])
    path = out_dir / name
    path.write_text(yaml.safe_dump(spec))
    return path
