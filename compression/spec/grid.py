"""Grid axes: a list on an ``Axis`` field of a recipe is expanded into one recipe per value."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

def _is_axis(annotation: Any) -> bool:
    """True for a field annotated ``Axis[...]``: a union with a list member."""
    args = get_args(annotation)
    if get_origin(annotation) is not Union:
        return False
    return any(get_origin(a) is list or get_origin(get_args(a)[0] if get_args(a) else a) is list
               for a in args)


def _axes(model: BaseModel,
          prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], list[Any]]]:
    """Yield (path, values) for every grid axis in ``model``, in field declaration order."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from _axes(value, (*prefix, name))
        elif isinstance(value, list) and _is_axis(info.annotation):
            yield (*prefix, name), value


def _with_value(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def recipe_axes(recipe: BaseModel) -> list[tuple[str, list[Any]]]:
    """The grid axes of a recipe as (dotted path, values)."""
    return [(".".join(path), values) for path, values in _axes(recipe)]


def expand_recipe(recipe: M, start: int = 0) -> Iterator[M]:
    """Every grid point of a recipe, as an axis-free recipe, in a deterministic order, from
    the ``start``-th on (the points before it are skipped without being made)."""
    axes = list(_axes(recipe))
    if not axes:
        yield from [recipe][start:]
        return
    points = itertools.product(*(values for _, values in axes))
    for point in itertools.islice(points, start, None):
        data = recipe.model_dump()
        for (path, _), value in zip(axes, point, strict=True):
            _with_value(data, path, value)
        yield type(recipe).model_validate(data)
