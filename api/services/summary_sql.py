"""A number inside the run summary, read by the database: the value, or NULL if not a number.

``Run.summary[path].as_float()`` casts whatever is there, so on PostgreSQL a string makes the
query fail, and on SQLite ``true`` reads as 1. This construct checks the JSON type first, so
sorting and the Pareto front see only real numbers, and the server does the extraction
instead of Python decoding every summary.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from api.models import Run

# Use with fullmatch: ``$`` with match() would also accept a trailing newline.
SUMMARY_PATH = re.compile(r"summary(\.[A-Za-z0-9_\-]{1,64}){1,6}")


class summary_number(FunctionElement[float]):
    """``summary_number("summary.latency_ms.torch.64.p50")``: a float or NULL."""

    type = Float()
    name = "summary_number"
    # The keys are not clause elements, so the statement cache could not tell two paths
    # apart: statements with this element are compiled each time (tens of microseconds).
    inherit_cache = False

    def __init__(self, path: str) -> None:
        if not SUMMARY_PATH.fullmatch(path):
            raise ValueError(f"not a summary path: {path!r}")
        self.keys = tuple(path.split(".")[1:])
        super().__init__(Run.summary)


def _column(element: summary_number, compiler: SQLCompiler, **kw: Any) -> str:
    column = element.clauses.clauses[0]
    assert isinstance(column, ColumnElement)
    return compiler.process(column, **kw)


@compiles(summary_number)
def _sqlite(element: summary_number, compiler: SQLCompiler, **kw: Any) -> str:
    # The keys match SUMMARY_PATH ([A-Za-z0-9_-]), so quoting them needs no escaping.
    path = "$" + "".join(f'."{key}"' for key in element.keys)
    column = _column(element, compiler, **kw)
    return (f"CASE WHEN json_type({column}, '{path}') IN ('integer', 'real') "
            f"THEN json_extract({column}, '{path}') END")


@compiles(summary_number, "postgresql")
def _postgresql(element: summary_number, compiler: SQLCompiler, **kw: Any) -> str:
    path = "{" + ",".join(element.keys) + "}"
    column = _column(element, compiler, **kw)
    return (f"CASE WHEN jsonb_typeof({column} #> '{path}') = 'number' "
            f"THEN CAST({column} #>> '{path}' AS DOUBLE PRECISION) END")
