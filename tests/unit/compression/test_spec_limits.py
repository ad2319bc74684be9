"""Spec limits in the engine (what ``squeezelab local`` uses): runs are counted before they
are made, and documents no spec can be (too deep, too many values, NUL, not JSON) are
refused with pointers, without recursion."""

from __future__ import annotations

from typing import Any

import pytest

from compression.errors import InvalidSpecError, SweepTooLargeError
from compression.spec import (
    SweepSpec,
    checks,
    expand,
    load_spec_text,
    parse_spec,
    run_count,
    runs,
)
from compression.spec.limits import MAX_VALUES, raw_errors

pytestmark = pytest.mark.unit


def grid(sparsities: int, lrs: int, seeds: int) -> dict[str, Any]:
    return {"name": "g", "task": "digits-mlp", "seeds": list(range(seeds)), "recipes": [{
        "name": "agp", "prune": {},
        "schedule": {"kind": "agp", "end_epoch": 2,
                     "final_sparsity": [0.01 + 0.9 * i / sparsities for i in range(sparsities)]},
        "finetune": {"epochs": 2, "optimizer": {"lr": [1e-4 * (i + 1) for i in range(lrs)]}}}]}


def refuse_expansion(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, expanding a recipe's grid fails the test."""
    def refuse(*_: Any) -> Any:
        raise AssertionError("a grid over the limit was expanded")
    monkeypatch.setattr(checks, "expand_recipe", refuse)
    monkeypatch.setattr(runs, "expand_recipe", refuse)


def test_run_count_is_what_expand_makes() -> None:
    spec = parse_spec(grid(3, 4, 2))
    assert run_count(spec) == len(expand(spec)) == 2 * (1 + 3 * 4)


def test_a_huge_grid_is_refused_by_its_count_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    refuse_expansion(monkeypatch)
    text = f"{grid(1000, 1000, 100)}"  # a Python dict's repr is YAML flow style
    with pytest.raises(SweepTooLargeError) as caught:
        load_spec_text(text)
    assert (caught.value.run_count, caught.value.limit) == (100_000_100, 10_000)
    assert caught.value.errors[1].pointer == "/recipes/0"
    assert "final_sparsity (1000) × finetune.optimizer.lr (1000)" in caught.value.errors[1].message


def test_expand_refuses_before_making_a_run(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = SweepSpec.model_validate(grid(60, 60, 3), context={"max_runs": 10**9})  # 10,803 runs
    refuse_expansion(monkeypatch)
    with pytest.raises(SweepTooLargeError):
        expand(spec)  # squeezelab local: the default limit
    with pytest.raises(SweepTooLargeError):
        expand(spec, max_runs=100)


def test_the_limit_is_the_callers() -> None:
    assert len(expand(parse_spec(grid(5, 6, 2), max_runs=62), max_runs=62)) == 62
    with pytest.raises(SweepTooLargeError):
        parse_spec(grid(5, 6, 2), max_runs=61)


def test_deep_yaml_is_an_invalid_spec() -> None:
    with pytest.raises(InvalidSpecError) as caught:
        load_spec_text("name: x\ntask: " + "[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in caught.value.errors[0].message


def test_raw_errors_point_at_what_no_spec_may_hold() -> None:
    deep: Any = 0
    for _ in range(40):
        deep = [deep]
    doc = {"a/b": {"k\x00": 1, "v": "x\x00"}, "when": b"bytes", "deep": deep, "ok": [1.5, None]}
    found = {e.pointer: e.message for e in raw_errors(doc)}
    assert set(found) == {"/a~1b/k\x00", "/a~1b/v", "/when", "/deep" + "/0" * 31}
    assert "NUL" in found["/a~1b/v"] and "not a JSON value" in found["/when"]


def test_a_billion_laughs_document_is_refused_without_walking_it_all() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(9))}]" for i in range(1, 9)]
    text = "\n".join(lines) + "\nname: lol\ntask: digits-mlp\n"
    with pytest.raises(InvalidSpecError) as caught:
        load_spec_text(text)
    assert caught.value.errors[0].message == f"the spec holds more than {MAX_VALUES:,} values"


@pytest.mark.parametrize(("field", "value"), [
    (("seeds",), [2**31]), (("baseline", "optimizer", "lr"), float("inf")),
    (("baseline", "epochs"), 2**31), (("gates", "max_stored_size"), 2**40),
])
def test_numbers_are_finite_and_fit_the_database(field: tuple[str, ...], value: Any) -> None:
    data: dict[str, Any] = {"name": "n", "task": "digits-mlp"}
    target = data
    for key in field[:-1]:
        target = target.setdefault(key, {})
    target[field[-1]] = value
    if field[-1] == "max_stored_size":  # bytes: a 64-bit count
        assert parse_spec(data).gates.max_stored_size == 2**40
        return
    with pytest.raises(InvalidSpecError):
        parse_spec(data)


@pytest.mark.parametrize("start", [0, 1, 2, 3, 7, 8, 13, 25, 26, 30])
def test_runs_from_a_start_are_the_expansion_from_there(start: int) -> None:
    two = grid(3, 2, 2)
    two["recipes"].append({**two["recipes"][0], "name": "other"})  # 2 × (1 + 6 + 6) = 26 runs
    spec = parse_spec(two)
    assert [r.name for r in runs.iter_runs(spec, start)] == [r.name for r in expand(spec)][start:]
