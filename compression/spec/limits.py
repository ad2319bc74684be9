"""Limits on what a spec may hold, checked before it is validated, stored or expanded.

A spec is user input that the API stores in PostgreSQL and expands into rows. Nesting deeper
than any real spec exhausts the interpreter's stack (RecursionError) wherever it is walked;
PostgreSQL text and JSONB cannot hold a NUL character or a lone surrogate (an escape such as
JSON's ``\\ud800`` makes one); only JSON values can be stored; and a grid is a product, so
a few short lists can ask for millions of runs. Each of these is a 422 with JSON pointers,
never a 500 or an exhausted server.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from compression.errors import FieldError, SweepTooLargeError
from compression.spec.grid import recipe_axes

if TYPE_CHECKING:  # the models call ``run_count`` from their validator
    from compression.spec.models import SweepSpec

# A real spec nests about 8 deep (an inline task's Hugging Face config); 32 leaves room.
MAX_DEPTH = 32
# Values (mappings, lists and scalars) in one spec: a bound on the work of walking it, even
# when YAML anchors make one node appear many times (a "billion laughs" document).
MAX_VALUES = 1_000_000
# Runs one sweep may expand to (``Settings.max_runs`` in the API).
DEFAULT_MAX_RUNS = 10_000
_SCALARS = (str, int, float, bool, type(None))
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _child_pointer(parent: str, key: object) -> str:
    return f"{parent}/{str(key).replace('~', '~0').replace('/', '~1')}"


def _children(value: dict[Any, Any] | list[Any], at: str) -> Iterator[tuple[str, Any]]:
    """(pointer, value) of each item; a mapping's keys are checked as values of their own."""
    pairs = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in pairs:
        where = _child_pointer(at, key)
        if isinstance(value, dict):
            yield where, key
        yield where, item


def raw_errors(data: Any, max_errors: int = 20) -> list[FieldError]:
    """What in a decoded document (JSON or YAML) no spec may hold: nesting deeper than
    ``MAX_DEPTH``, a NUL character or a lone surrogate, a value JSON cannot represent (a
    YAML date, binary or set), or more than ``MAX_VALUES`` values. Walked without
    recursion."""
    errors: list[FieldError] = []
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    seen = 0
    while stack and len(errors) < max_errors:
        value, at, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            return [FieldError("", f"the spec holds more than {MAX_VALUES:,} values")]
        if isinstance(value, str):
            if "\x00" in value:
                errors.append(FieldError(at, "a NUL character (\\u0000) is not allowed"))
            elif _SURROGATE.search(value):
                errors.append(FieldError(at, "a lone surrogate (\\ud800-\\udfff) is not a "
                                             "character"))
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                errors.append(FieldError(at, f"nested more than {MAX_DEPTH} levels deep"))
                continue
            stack.extend((item, where, depth + 1) for where, item in _children(value, at))
        elif not isinstance(value, _SCALARS):
            errors.append(FieldError(at, f"not a JSON value ({type(value).__name__}): use "
                                         "strings, numbers, booleans, lists and mappings"))
    return errors


def nesting_too_deep() -> FieldError:
    """The error for a document whose decoder ran out of stack."""
    return FieldError("", f"nested too deeply (at most {MAX_DEPTH} levels)")


def run_count(spec: SweepSpec) -> int:
    """How many runs ``expand`` makes, without making them: a baseline per seed, plus each
    recipe's grid (the product of its axes' lengths) times the seeds."""
    grids = (math.prod(len(values) for _, values in recipe_axes(r)) for r in spec.recipes)
    return len(spec.seeds) * (1 + sum(grids))


def check_run_count(spec: SweepSpec, max_runs: int) -> None:
    """Raise ``SweepTooLargeError``, naming each recipe's axes and product, when ``spec``
    expands to more than ``max_runs`` runs."""
    total = run_count(spec)
    if total <= max_runs:
        return
    seeds = len(spec.seeds)
    errors = [FieldError("", f"the sweep expands to {total:,} runs, over the limit of "
                             f"{max_runs:,}: {seeds} baseline(s) plus each recipe's grid "
                             f"times {seeds} seed(s)")]
    for i, recipe in enumerate(spec.recipes):
        axes = recipe_axes(recipe)
        grid = math.prod(len(values) for _, values in axes)
        factors = " × ".join(f"{path} ({len(values)})" for path, values in axes)
        errors.append(FieldError(f"/recipes/{i}", f"{recipe.name}: {factors or 'no axes (1)'}"
                                                  f" × seeds ({seeds}) = {grid * seeds:,} runs"))
    raise SweepTooLargeError(total, max_runs, errors)
