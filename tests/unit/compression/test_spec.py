"""The sweep spec: validation with JSON pointers, grid expansion, stable hashes, no torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from compression.errors import InvalidSpecError
from compression.spec import SweepSpec, expand, load_spec_text, parse_spec

pytestmark = pytest.mark.unit
EXAMPLES = Path(__file__).parents[3] / "examples"


def spec(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "s", "task": "digits-mlp", "seeds": [0, 1],
        "recipes": [{
            "name": "agp",
            "prune": {"granularity": "unstructured", "scope": "global"},
            "schedule": {"kind": "agp", "final_sparsity": [0.5, 0.9], "end_epoch": 4},
            "finetune": {"epochs": 6, "optimizer": {"lr": [1e-3, 1e-4]}},
        }],
    }
    base.update(overrides)
    return base


def pointers(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidSpecError) as info:
        parse_spec(data)
    return {e.pointer: e.message for e in info.value.errors}


def test_grid_is_cartesian_product_of_axes_times_seeds_in_a_fixed_order() -> None:
    runs = expand(parse_spec(spec()))
    names = [r.name for r in runs]
    assert names[:2] == ["baseline@seed0", "baseline@seed1"]
    assert names[2:] == [
        "agp[final_sparsity=0.5,lr=0.001]@seed0", "agp[final_sparsity=0.5,lr=0.001]@seed1",
        "agp[final_sparsity=0.5,lr=0.0001]@seed0", "agp[final_sparsity=0.5,lr=0.0001]@seed1",
        "agp[final_sparsity=0.9,lr=0.001]@seed0", "agp[final_sparsity=0.9,lr=0.001]@seed1",
        "agp[final_sparsity=0.9,lr=0.0001]@seed0", "agp[final_sparsity=0.9,lr=0.0001]@seed1",
    ]
    resolved = runs[-1].recipe
    assert resolved is not None and resolved.schedule is not None
    assert resolved.schedule.final_sparsity == 0.9
    assert runs[-1].params == {"schedule.final_sparsity": 0.9, "finetune.optimizer.lr": 1e-4}


def test_config_hash_is_stable_and_distinguishes_configs() -> None:
    first = [r.config_hash for r in expand(parse_spec(spec()))]
    again = [r.config_hash for r in expand(parse_spec(spec()))]
    assert first == again
    assert len(set(first)) == len(first)
    # Pinned: a hash that changes between releases would orphan stored results.
    assert first[0] == expand(parse_spec(spec(name="renamed")))[0].config_hash


def test_compress_runs_share_the_baseline_of_their_seed() -> None:
    runs = expand(parse_spec(spec()))
    by_seed = {r.seed: r.baseline_key for r in runs if r.kind == "baseline"}
    assert len(set(by_seed.values())) == 2
    assert all(r.baseline_key == by_seed[r.seed] for r in runs)


@pytest.mark.parametrize(("patch", "pointer"), [
    ({"seeds": [0, 0]}, "/seeds"),
    ({"device": "tpu"}, "/device"),
    ({"surprise": 1}, "/surprise"),
    ({"recipes": [{"name": "a", "prune": {"granularity": "nm", "n": 4, "m": 4}}]},
     "/recipes/0/prune/n"),
    ({"recipes": [{"name": "a", "prune": {},
                   "schedule": {"final_sparsity": [0.5, 1.5]}}]},
     "/recipes/0/schedule/final_sparsity/1"),
    ({"recipes": [{"name": "a", "prune": {}, "schedule": {"kind": "agp",
                                                          "final_sparsity": 0.5}}]},
     "/recipes/0/schedule/end_epoch"),
    ({"recipes": [{"name": "a", "prune": {}, "schedule": {"kind": "agp", "end_epoch": 9,
                                                          "final_sparsity": 0.5},
                   "finetune": {"epochs": 3}}]},
     "/recipes/0/finetune/epochs"),
    ({"recipes": [{"name": "a", "prune": {}}]}, "/recipes/0/schedule/final_sparsity"),
    ({"recipes": [{"name": "a", "prune": {}, "schedule": {"final_sparsity": 0.5}},
                  {"name": "a", "prune": {}, "schedule": {"final_sparsity": 0.5}}]},
     "/recipes/1/name"),
    ({"measure": {"latency": {"runtimes": ["tensorrt"]}}}, "/measure/latency/runtimes/0"),
    ({"recipes": [{"name": "a", "distill": {}}]}, "/recipes/0/finetune"),
    ({"gates": {"max_accuracy_drop": False}}, "/gates/max_accuracy_drop"),
    ({"baseline": {"epochs": True}}, "/baseline/epochs"),
    ({"recipes": [{"name": "q", "quantize": {"backend": "arm"}}]},
     "/recipes/0/quantize/backend"),
])
def test_invalid_specs_name_the_bad_field(patch: dict[str, Any], pointer: str) -> None:
    errors = pointers(spec(**patch))
    assert pointer in errors, errors


def test_one_message_per_bad_axis_field() -> None:
    errors = pointers(spec(baseline={"epochs": True}))
    assert errors == {"/baseline/epochs": "Value error, expected a number, not a boolean"}


def test_yaml_errors_are_invalid_spec_errors() -> None:
    with pytest.raises(InvalidSpecError):
        load_spec_text("name: [unclosed")
    with pytest.raises(InvalidSpecError):
        load_spec_text("- a list, not a mapping")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_examples_validate(path: Path) -> None:
    parsed = load_spec_text(path.read_text())
    assert isinstance(parsed, SweepSpec)
    assert len(expand(parsed)) > len(parsed.seeds)


def test_design_doc_example_validates() -> None:
    design = Path(__file__).parents[3].parent / "shared" / "design.md"
    if not design.exists():
        pytest.skip("shared/design.md is not beside this checkout")
    text = design.read_text().split("```yaml", 1)[1].split("```", 1)[0]
    runs = expand(load_spec_text(text))
    assert sum(r.kind == "baseline" for r in runs) == 3


def test_importing_the_spec_does_not_import_torch() -> None:
    code = ("import sys, compression.spec, compression.errors; "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
