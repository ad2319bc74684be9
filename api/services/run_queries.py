"""Run listing: filters, sorting by any column or summary field, pagination."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from api.errors import InvalidInputError, Violation
from api.models import Run
from api.services.pagination import decode_cursor, encode_cursor
from api.services.summary_sql import SUMMARY_PATH, summary_number

_COLUMNS = {"id": Run.id, "name": Run.name, "created_at": Run.created_at,
            "ended_at": Run.ended_at, "status": Run.status, "seed": Run.seed,
            "attempt": Run.attempt, "kind": Run.kind}


@dataclass(frozen=True)
class RunFilters:
    sweep_id: int | None = None
    status: str | None = None
    kind: str | None = None
    variant: str | None = None


def _sort(sort: str) -> tuple[Any, bool]:
    descending = sort.startswith("-")
    field = sort.lstrip("-+")
    if field in _COLUMNS:
        return _COLUMNS[field], descending
    if SUMMARY_PATH.fullmatch(field):
        return summary_number(field), descending
    raise InvalidInputError("unknown sort field", [Violation(
        "query:/sort", f"{field!r}: use a column ({', '.join(_COLUMNS)}) or summary.<path>")])


def _filtered(filters: RunFilters) -> Select[Any]:
    stmt = select(Run)
    for column, value in ((Run.sweep_id, filters.sweep_id), (Run.status, filters.status),
                          (Run.kind, filters.kind), (Run.variant, filters.variant)):
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


def list_runs(session: Session, filters: RunFilters, sort: str, limit: int,
              cursor: str | None) -> tuple[list[Run], str | None]:
    """Ordered by ``sort`` (``-`` for descending; missing values last), then by id.

    The default order (id) pages on the key; other orders page by offset, which is stable
    while the sweep's runs do not change their sort value between pages.
    """
    expr, descending = _sort(sort)
    stmt = _filtered(filters)
    if expr is Run.id:
        after = decode_cursor(cursor, "after")
        if after is not None:
            op = Run.id < after["after"] if descending else Run.id > after["after"]
            stmt = stmt.where(op)
        stmt = stmt.order_by(Run.id.desc() if descending else Run.id)
        offset = 0
    else:
        data = decode_cursor(cursor, "offset")
        offset = data["offset"] if data else 0
        order = expr.desc() if descending else expr.asc()
        stmt = stmt.order_by(order.nulls_last(), Run.id).offset(offset)
    runs: list[Run] = list(session.scalars(stmt.limit(limit + 1)))
    if len(runs) <= limit:
        return runs, None
    runs = runs[:limit]
    if expr is Run.id:
        return runs, encode_cursor({"after": runs[-1].id})
    return runs, encode_cursor({"offset": offset + limit})
