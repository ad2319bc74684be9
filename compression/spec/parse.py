"""Parsing: YAML/JSON text or a mapping in, a ``SweepSpec`` or an ``InvalidSpecError`` out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import ValidationError

from compression.errors import FieldError, InvalidSpecError
from compression.spec.checks import SemanticErrors
from compression.spec.limits import DEFAULT_MAX_RUNS, check_run_count, nesting_too_deep, raw_errors
from compression.spec.models import SweepSpec


def _pointer(loc: tuple[int | str, ...]) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    return "/" + "/".join(parts) if parts else ""


_UNION_TAGS = {"float", "int", "str", "bool", "list", "none", "literal"}


def _is_union_tag(part: int | str) -> bool:
    """Union members add their type ('list[constrained-float]') to an error's location."""
    return isinstance(part, str) and ("[" in part or "-" in part or part in _UNION_TAGS)


def field_errors(exc: ValidationError) -> list[FieldError]:
    found: list[tuple[FieldError, bool]] = []
    for err in exc.errors():
        ctx_error = err.get("ctx", {}).get("error")
        if isinstance(ctx_error, SemanticErrors):
            found.extend((e, False) for e in ctx_error.errors)
            continue
        loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
        found.append((FieldError(_pointer(loc), err["msg"]), len(loc) != len(err["loc"])))
    # For an axis, the scalar branch's complaint about a list says less than the list
    # branch's complaint about one element: keep the deepest pointer.
    pointers = [e.pointer for e, _ in found]
    errors: list[FieldError] = []
    for e, from_union in found:
        deeper = any(p.startswith(e.pointer + "/") for p in pointers)
        # Each union branch complains about the same field: the first complaint is enough.
        said = any(e.pointer == kept.pointer for kept in errors)
        if (from_union and (deeper or said)) or e in errors:
            continue
        errors.append(e)
    return errors


def parse_spec(data: Mapping[str, Any], *, max_runs: int = DEFAULT_MAX_RUNS) -> SweepSpec:
    """Validate a decoded spec; raise ``InvalidSpecError`` with a JSON pointer per bad field,
    or ``SweepTooLargeError`` when it expands to more than ``max_runs`` runs."""
    errors = raw_errors(data)
    if errors:
        raise InvalidSpecError(errors)
    try:
        spec = SweepSpec.model_validate(data, context={"max_runs": max_runs})
    except ValidationError as exc:
        raise InvalidSpecError(field_errors(exc)) from None
    check_run_count(spec, max_runs)
    return spec


def load_spec_text(text: str, *, max_runs: int = DEFAULT_MAX_RUNS) -> SweepSpec:
    """Parse a YAML or JSON spec (JSON is YAML)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidSpecError([FieldError("", f"not valid YAML or JSON: {exc}")]) from None
    except RecursionError:
        raise InvalidSpecError([nesting_too_deep()]) from None
    if not isinstance(data, dict):
        raise InvalidSpecError([FieldError("", "the spec must be a mapping")])
    return parse_spec(data, max_runs=max_runs)
