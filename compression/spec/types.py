"""Field types shared by the spec models: grid axes, numbers that are never booleans (nor
infinite, nor beyond what the database's columns hold)."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

T = TypeVar("T")
# A grid-able field takes one value or a non-empty list of values (a grid axis).
Axis = Union[T, Annotated[list[T], Field(min_length=1)]]  # noqa: UP007 (needs a runtime Union)


def scalar(value: T | list[T]) -> T:
    """The value of a grid-able field of a resolved (expanded) config.

    After ``expand`` every axis holds one value; a list here means the caller skipped
    expansion, which is a bug, not a user error.
    """
    if isinstance(value, list):
        raise TypeError(f"unexpanded grid axis {value!r}: expand the spec first")
    return value


def _not_bool(value: Any) -> Any:
    """YAML's ``true`` would otherwise pass as 1 (or 1.0): a boolean is never a number here."""
    if isinstance(value, bool):
        raise ValueError("expected a number, not a boolean")
    return value


# Patterns are read by three regex dialects: JSON Schema's (ECMA-262: ``\w`` is ASCII),
# pydantic's (Rust: ``\w`` is any Unicode letter) and Python's. Spelled out, these classes
# mean the same in all three: word characters, and whitespace as any of them counts it.
WORD = "A-Za-z0-9_"
SPACE = r"\x09-\x0d\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"

# Spec integers fit a 32-bit column (a seed is stored in ``runs.seed``); a larger epoch
# count or step is a typo, not a plan.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
NoBool = BeforeValidator(_not_bool)
Fraction = Annotated[float, NoBool, Field(ge=0.0, lt=1.0)]
PositiveFloat = Annotated[float, NoBool, Field(gt=0.0)]
NonNegInt = Annotated[int, NoBool, Field(ge=0, le=INT32_MAX)]
PositiveInt = Annotated[int, NoBool, Field(gt=0, le=INT32_MAX)]


class SpecModel(BaseModel):
    """Base of every spec model: unknown fields are errors, values are immutable, and every
    float is finite (JSON, and so PostgreSQL's JSONB, has no Infinity or NaN)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
