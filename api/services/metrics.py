"""Metric ingestion: one statement per batch on PostgreSQL, idempotent on (run, key, step),
and the rollup buckets updated from the points that were new."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import func, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from api.errors import NotFoundError
from api.models import Base, MetricPoint, Run
from api.schemas.metrics import MetricPointCreate
from api.services.context import Effects

# 16 .. 262,144 steps; shorter series are read raw (at most 16 points per bucket wanted).
ROLLUP_WIDTHS = tuple(4**i for i in range(2, 10))
_POINTS = TypeAdapter(list[MetricPointCreate])

# The validated batch goes in as one JSON parameter (PostgreSQL parses it in C: about half
# the cost of adapting four Python lists); the points that were new (RETURNING skips
# conflicts) feed the rollups in the same statement. Rollup rows are upserted in key order
# so concurrent batches of one series lock them in the same order.
_PG_INGEST = text("""
WITH ins AS (
  INSERT INTO metric_points (run_id, key, step, value, wall_time)
  SELECT :run_id, p.key, p.step, p.value, coalesce(p.wall_time, :now)
  FROM json_to_recordset(CAST(:points AS json))
       AS p(key text, step bigint, value float8, wall_time float8)
  ON CONFLICT (run_id, key, step) DO NOTHING
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
""")


def require_run(session: Session, run_id: int) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise NotFoundError("run", run_id)
    return run


def ingest(session: Session, fx: Effects, run_id: int,
           points: list[MetricPointCreate]) -> int:
    """Store a batch; returns how many points were new."""
    run = require_run(session, run_id)
    if not points:
        return 0
    now = time.time()
    if session.get_bind().dialect.name == "postgresql":
        inserted = int(session.execute(_PG_INGEST, {
            "run_id": run_id, "points": _POINTS.dump_json(points).decode(), "now": now,
            "finest": ROLLUP_WIDTHS[0], "widths": list(ROLLUP_WIDTHS[1:])}).scalar_one())
    else:
        inserted = _ingest_portable(session, run_id, [
            (p["key"], p["step"], p["value"], _or_now(p.get("wall_time"), now))
            for p in points])
    session.commit()
    if inserted:
        fx.events.publish(run.sweep_id, {
            "type": "metrics", "run_id": run_id, "keys": sorted({p["key"] for p in points}),
            "max_step": max(p["step"] for p in points)})
    return inserted


def _or_now(wall_time: float | None, now: float) -> float:
    return now if wall_time is None else wall_time


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
