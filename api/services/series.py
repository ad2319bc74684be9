"""Downsampled reads: at most N equal-width step buckets, each with min, max and last.

Reads come from the coarsest rollup width that still gives at least N buckets, so at
most 4N rows (or from the raw points, at most 16N, for short series); adjacent buckets
are merged, which is exact for min, max, count and last.
"""

from __future__ import annotations

import math

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.models import MetricPoint, MetricRollup
from api.schemas.metrics import Bucket, SeriesPublic
from api.services.metrics import ROLLUP_WIDTHS, require_run

Row = tuple[int, int, float, float, int, int, float]  # bucket, count, min, max, first, last


def _rows(session: Session, run_id: int, key: str, width: int, lo: int, hi: int) -> list[Row]:
    if width == 1:
        points = session.execute(
            select(MetricPoint.step, MetricPoint.value)
            .where(MetricPoint.run_id == run_id, MetricPoint.key == key,
                   MetricPoint.step.between(lo, hi))
            .order_by(MetricPoint.step))
        return [(s, 1, v, v, s, s, v) for s, v in points]
    rollups = session.execute(
        select(MetricRollup.bucket, MetricRollup.count, MetricRollup.min, MetricRollup.max,
               MetricRollup.first_step, MetricRollup.last_step, MetricRollup.last_value)
        .where(MetricRollup.run_id == run_id, MetricRollup.key == key,
               MetricRollup.width == width, MetricRollup.bucket.between(lo // width, hi // width))
        .order_by(MetricRollup.bucket))
    return [tuple(r) for r in rollups]  # type: ignore[misc]


def series(session: Session, run_id: int, key: str, buckets: int,
           step_min: int | None = None, step_max: int | None = None) -> SeriesPublic:
    """The whole series, or the window ``step_min..step_max`` (a zoomed chart) at the
    resolution its own span allows; a window is read in whole source buckets, so its edge
    buckets may reach a little outside it."""
    require_run(session, run_id)
    # The coarsest rollup has a handful of rows and knows the series' extent.
    lo, hi = session.execute(
        select(func.min(MetricRollup.first_step), func.max(MetricRollup.last_step))
        .where(MetricRollup.run_id == run_id, MetricRollup.key == key,
               MetricRollup.width == ROLLUP_WIDTHS[-1])).one()
    if lo is not None:
        lo = lo if step_min is None else max(lo, step_min)
        hi = hi if step_max is None else min(hi, step_max)
    if lo is None or lo > hi:
        return SeriesPublic(run_id=run_id, key=key, total_points=0, buckets=[])
    span = hi - lo + 1
    width = max((w for w in ROLLUP_WIDTHS if w * buckets <= span), default=1)
    # Output buckets are a whole number of source buckets wide, counted from lo's bucket.
    out_width = width * math.ceil(span / (width * buckets))
    origin = (lo // width) * width
    merged: list[list[float]] = []  # step_min, step_max, count, min, max, last
    total = 0
    current = -1
    for bucket, n, vmin, vmax, first, last, last_value in _rows(session, run_id, key, width,
                                                                lo, hi):
        total += n
        index = (bucket * width - origin) // out_width if width > 1 else (bucket - lo) // out_width
        if index != current:
            merged.append([first, last, n, vmin, vmax, last_value])
            current = index
            continue
        b = merged[-1]
        b[1], b[2], b[5] = last, b[2] + n, last_value
        b[3], b[4] = min(b[3], vmin), max(b[4], vmax)
    out = [Bucket.model_construct(step_min=int(b[0]), step_max=int(b[1]), count=int(b[2]),
                                  min=b[3], max=b[4], last=b[5]) for b in merged]
    return SeriesPublic(run_id=run_id, key=key, total_points=total, buckets=out)
