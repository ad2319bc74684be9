"""Metric ingestion: one statement per batch on PostgreSQL, idempotent on (run, key, step),
and the rollup buckets updated from the points that were new.

Points are taken only from the token holding the run's lease while the run is running
(``api.services.leases``); afterwards a batch whose every point is stored already, with
the same value (a worker's retry of a batch whose reply it lost), still answers 200 with
nothing inserted, and anything else is refused."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import TypeAdapter
from sqlalchemy import TextClause, func, select, text, tuple_
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.errors import NotFoundError
from api.models import Base, MetricPoint, Run
from api.schemas.metrics import MetricPointCreate
from api.services.context import Effects
from api.services.leases import run_lease

# 16 .. 262,144 steps; shorter series are read raw (at most 16 points per bucket wanted).
ROLLUP_WIDTHS = tuple(4**i for i in range(2, 10))
T = TypeVar("T", int, float, float | None)
_INTS: TypeAdapter[list[int]] = TypeAdapter(list[int])
_FLOATS: TypeAdapter[list[float]] = TypeAdapter(list[float])
_OPTIONAL_FLOATS: TypeAdapter[list[float | None]] = TypeAdapter(list[float | None])

# The batch goes in as column arrays (the distinct keys, then one key index per point), so
# PostgreSQL parses plain numbers instead of JSON objects. The points that were new
# (RETURNING) feed the rollups in the same statement; rollup rows are upserted in key order
# so concurrent batches of one series lock them in the same order.
_PG_INGEST = """
WITH ins AS (
  INSERT INTO metric_points (run_id, key, step, value, wall_time)
  SELECT :run_id, (CAST(:keys AS text[]))[p.k], p.step, p.value, coalesce(p.wall_time, :now)
  FROM unnest(CAST(:key_index AS int[]), CAST(:steps AS bigint[]), CAST(:values AS float8[]),
              CAST(:wall_times AS float8[])) AS p(k, step, value, wall_time)
  {guard}
  RETURNING key, step, value
), finest AS (
  SELECT key, step / :finest AS bucket, count(*) AS n, min(value) AS vmin,
         max(value) AS vmax, min(step) AS first_step,
         max(ARRAY[step::float8, value]) AS last_pair
  FROM ins GROUP BY key, step / :finest
), agg AS (  -- coarser widths from the finest buckets: far fewer rows to group
  SELECT key, :finest AS width, bucket, n, vmin, vmax, first_step, last_pair FROM finest
  UNION ALL
  SELECT key, tw, bucket * :finest / tw, sum(n), min(vmin), max(vmax), min(first_step),
         max(last_pair)
  FROM finest CROSS JOIN unnest(CAST(:widths AS int[])) AS tw
  GROUP BY key, tw, bucket * :finest / tw
), up AS (
  INSERT INTO metric_rollups AS r (run_id, key, width, bucket, count, min, max, first_step,
                                   last_step, last_value)
  SELECT :run_id, key, width, bucket, n, vmin, vmax, first_step, last_pair[1]::bigint,
         last_pair[2]
  FROM agg ORDER BY key, width, bucket
  ON CONFLICT (run_id, key, width, bucket) DO UPDATE SET
    count = r.count + excluded.count, min = least(r.min, excluded.min),
    max = greatest(r.max, excluded.max), first_step = least(r.first_step, excluded.first_step),
    last_value = CASE WHEN excluded.last_step > r.last_step THEN excluded.last_value
                      ELSE r.last_value END,
    last_step = greatest(r.last_step, excluded.last_step)
)
SELECT count(*) FROM ins
"""
# Fast path: a plain INSERT, gated (once, not per row) on no stored point of these keys lying
# in the batch's step range, which is how workers post: new steps, in order. ON CONFLICT
# adds ~40 ms of PostgreSQL CPU to the ~60 ms a 10k-row insert takes (a speculative
# insertion, one more index lookup and WAL record per row), so only the batches that need
# it take that path: replays, overlaps, repeated points (docs/benchmarks.md, ingestion).
_PG_FRESH = text(_PG_INGEST.format(guard="""WHERE NOT EXISTS (
    SELECT FROM metric_points m WHERE m.run_id = :run_id
    AND m.key = ANY(CAST(:keys AS text[])) AND m.step BETWEEN :lo AND :hi)"""))
_PG_IDEMPOTENT = text(_PG_INGEST.format(guard="ON CONFLICT (run_id, key, step) DO NOTHING"))
_UNIQUE_VIOLATION = "23505"
# How many points of a batch are stored with the same value (a replay stores nothing new).
_PG_STORED = text("""
SELECT count(*) FROM unnest(CAST(:key_index AS int[]), CAST(:steps AS bigint[]),
                            CAST(:values AS float8[])) AS p(k, step, value)
JOIN metric_points m ON m.run_id = :run_id AND m.key = (CAST(:keys AS text[]))[p.k]
                     AND m.step = p.step AND m.value = p.value
""")


@dataclass(frozen=True)
class _Columns:
    """A batch column by column: what both backends insert from."""

    keys: list[str]
    steps: list[int]
    values: list[float]
    wall_times: list[float | None]
    distinct_keys: list[str]

    @classmethod
    def of(cls, points: list[MetricPointCreate]) -> _Columns:
        keys = [p["key"] for p in points]
        return cls(keys, [p["step"] for p in points], [p["value"] for p in points],
                   [p.get("wall_time") for p in points], list(dict.fromkeys(keys)))


def require_run(session: Session, run_id: int) -> int:
    """The run's sweep id; raises NotFoundError if there is no such run. Reads one column:
    loading the run would parse its config and summary JSON on every metric batch."""
    sweep_id = session.scalar(select(Run.sweep_id).where(Run.id == run_id))
    if sweep_id is None:
        raise NotFoundError("run", run_id)
    return sweep_id


def ingest(session: Session, fx: Effects, run_id: int, points: list[MetricPointCreate],
           token_id: int | None = None) -> int:
    """Store a batch from the caller with ``token_id``; returns how many points were new.
    A batch the run's state or lease refuses (409 / 403) answers 0 if it is a replay."""
    lease = run_lease(session, run_id)
    if not points:
        return 0
    batch = _Columns.of(points)
    refusal = lease.refusal(token_id, "take metrics")
    if refusal is not None:
        if _stored(session, run_id, batch):
            return 0
        raise refusal
    sweep_id = lease.sweep_id
    now = time.time()
    if session.get_bind().dialect.name == "postgresql":
        inserted = _ingest_postgresql(session, run_id, batch, now)
    else:
        inserted = _ingest_portable(session, run_id, [
            (k, s, v, now if w is None else w)
            for k, s, v, w in zip(batch.keys, batch.steps, batch.values, batch.wall_times,
                                  strict=True)])
    session.commit()
    if inserted:
        fx.events.publish(sweep_id, {
            "type": "metrics", "run_id": run_id, "keys": sorted(batch.distinct_keys),
            "max_step": max(batch.steps)})
    return inserted


def _stored(session: Session, run_id: int, batch: _Columns) -> bool:
    """Whether every point of the batch is stored already, with the same value."""
    if session.get_bind().dialect.name == "postgresql":
        index = {key: i for i, key in enumerate(batch.distinct_keys, start=1)}
        found = session.execute(_PG_STORED, {
            "run_id": run_id, "keys": batch.distinct_keys,
            "key_index": array_literal(_INTS, [index[k] for k in batch.keys]),
            "steps": array_literal(_INTS, batch.steps),
            "values": array_literal(_FLOATS, batch.values)}).scalar_one()
        return int(found) == len(batch.keys)
    pairs = list(dict.fromkeys(zip(batch.keys, batch.steps, strict=True)))
    rows = session.execute(
        select(MetricPoint.key, MetricPoint.step, MetricPoint.value)
        .where(MetricPoint.run_id == run_id,
               tuple_(MetricPoint.key, MetricPoint.step).in_(pairs)))
    stored = {(key, step): value for key, step, value in rows}
    return all(stored.get((key, step)) == value for key, step, value
               in zip(batch.keys, batch.steps, batch.values, strict=True))


def _ingest_postgresql(session: Session, run_id: int, batch: _Columns, now: float) -> int:
    index = {key: i for i, key in enumerate(batch.distinct_keys, start=1)}
    params = {"run_id": run_id, "now": now, "keys": batch.distinct_keys,
              "key_index": array_literal(_INTS, [index[k] for k in batch.keys]),
              "steps": array_literal(_INTS, batch.steps),
              "values": array_literal(_FLOATS, batch.values),
              "wall_times": array_literal(_OPTIONAL_FLOATS, batch.wall_times),
              "lo": min(batch.steps), "hi": max(batch.steps),
              "finest": ROLLUP_WIDTHS[0], "widths": list(ROLLUP_WIDTHS[1:])}
    try:
        inserted = _count(session, _PG_FRESH, params)
    except IntegrityError as exc:
        # A concurrent batch stored some of these points first, or the batch repeats a
        # point: the statement (rollups included) rolled back as a whole.
        if getattr(exc.orig, "sqlstate", None) != _UNIQUE_VIOLATION:
            raise
        session.rollback()
        inserted = 0
    # Nothing inserted means the guard found stored points in range (or a rollback above).
    return inserted or _count(session, _PG_IDEMPOTENT, params)


def _count(session: Session, statement: TextClause, params: dict[str, Any]) -> int:
    return int(session.execute(statement, params).scalar_one())


def array_literal(adapter: TypeAdapter[list[T]], items: list[T]) -> str:
    """A PostgreSQL array literal of numbers and nulls, written as JSON by ``adapter`` (the
    syntax between the brackets is the same; pydantic writes it about 20x faster than repr()
    per float, and its shortest round-trip form reads back as the same float8).

    adapter: a TypeAdapter of a list of ints, floats or optional floats, nothing else.
    """
    return "{" + adapter.dump_json(items).decode()[1:-1] + "}"


def _ingest_portable(session: Session, run_id: int,
                     rows: list[tuple[str, int, float, float]]) -> int:
    """SQLite: insert with RETURNING, which yields only the points that were new (the first
    INSERT takes the write lock, so a concurrent replay of the batch sees them as conflicts),
    then fold exactly those into the rollups."""
    points = Base.metadata.tables["metric_points"]
    stmt = (sqlite_insert(points).on_conflict_do_nothing()
            .returning(points.c.key, points.c.step, points.c.value))
    result = session.connection().execute(stmt, [
        {"run_id": run_id, "key": k, "step": s, "value": v, "wall_time": w}
        for k, s, v, w in rows])
    new = [(k, s, v, 0.0) for k, s, v in result]
    if new:
        _fold_rollups(session, run_id, new)
    return len(new)


def _fold_rollups(session: Session, run_id: int,
                  new: Iterable[tuple[str, int, float, float]]) -> None:
    buckets: dict[tuple[str, int, int], list[Any]] = {}
    for key, step, value, _ in sorted(new, key=lambda r: (r[0], r[1])):
        for width in ROLLUP_WIDTHS:
            b = buckets.get((key, width, step // width))
            if b is None:
                buckets[(key, width, step // width)] = [1, value, value, step, step, value]
            else:
                b[0] += 1
                b[1], b[2] = min(b[1], value), max(b[2], value)
                b[4], b[5] = step, value  # sorted by step: this is the latest
    table = Base.metadata.tables["metric_rollups"]
    stmt = sqlite_insert(table)
    ex = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=["run_id", "key", "width", "bucket"],
        set_={"count": table.c.count + ex.count,
              "min": _least(table.c.min, ex.min), "max": _greatest(table.c.max, ex.max),
              "first_step": _least(table.c.first_step, ex.first_step),
              "last_value": text("CASE WHEN excluded.last_step > metric_rollups.last_step "
                                 "THEN excluded.last_value ELSE metric_rollups.last_value END"),
              "last_step": _greatest(table.c.last_step, ex.last_step)})
    session.connection().execute(stmt, [
        {"run_id": run_id, "key": k, "width": w, "bucket": bucket, "count": b[0], "min": b[1],
         "max": b[2], "first_step": b[3], "last_step": b[4], "last_value": b[5]}
        for (k, w, bucket), b in buckets.items()])


def _least(a: Any, b: Any) -> Any:
    return func.min(a, b)  # SQLite's two-argument min() is a scalar function


def _greatest(a: Any, b: Any) -> Any:
    return func.max(a, b)


def metric_keys(session: Session, run_id: int) -> list[str]:
    require_run(session, run_id)
    return list(session.scalars(select(MetricPoint.key).where(MetricPoint.run_id == run_id)
                                .distinct().order_by(MetricPoint.key)))
