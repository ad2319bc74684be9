"""The Pareto front of a sweep over two summary fields, seeds aggregated (mean ± std)."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import InvalidInputError, Violation
from api.models import Run
from api.schemas.sweeps import ParetoPoint
from api.services.summary_sql import SUMMARY_PATH, summary_number
from api.services.sweeps import get_sweep


def _pstdev(values: list[float]) -> float:
    """Population std in floats: ``statistics.pstdev`` computes in exact fractions, which
    took seconds for a 10,000-run sweep."""
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))


def front_mask(points: list[tuple[float, float]]) -> list[bool]:
    """Which (x, y) points no other point dominates, both maximised; O(n log n)."""
    order = sorted(range(len(points)), key=lambda i: (-points[i][0], -points[i][1]))
    on_front = [False] * len(points)
    best_y = -math.inf
    for i in order:
        if points[i][1] > best_y:
            on_front[i] = True
            best_y = points[i][1]
    return on_front


def pareto_front(session: Session, sweep_id: int, x: str, y: str, x_goal: str,
                 y_goal: str) -> list[ParetoPoint]:
    """Aggregate succeeded runs by variant; runs lacking either number are left out.

    The database extracts the two numbers, so a 10,000-run sweep sends 10,000 short rows
    rather than 10,000 summaries for Python to decode.
    """
    for name, path in (("x", x), ("y", y)):
        if not SUMMARY_PATH.fullmatch(path):
            raise InvalidInputError("bad summary path", [
                Violation(f"query:/{name}", "use summary.<field>[.<field>...]")])
    get_sweep(session, sweep_id)
    xv, yv = summary_number(x), summary_number(y)
    rows = session.execute(select(Run.id, Run.variant, Run.kind, xv, yv).where(
        Run.sweep_id == sweep_id, Run.status == "succeeded", xv.is_not(None),
        yv.is_not(None)).order_by(Run.id))
    groups: dict[str, list[tuple[int, str, float, float]]] = defaultdict(list)
    for run_id, variant, kind, xf, yf in rows:
        if math.isfinite(xf) and math.isfinite(yf):
            groups[variant].append((run_id, kind, float(xf), float(yf)))
    points = []
    for variant, members in groups.items():
        xs, ys = [m[2] for m in members], [m[3] for m in members]
        points.append(ParetoPoint(
            variant=variant, kind=members[0][1], run_ids=[m[0] for m in members],
            seeds=len(members), x_mean=statistics.fmean(xs), y_mean=statistics.fmean(ys),
            x_std=_pstdev(xs), y_std=_pstdev(ys), on_front=False))
    sx = 1.0 if x_goal == "max" else -1.0
    sy = 1.0 if y_goal == "max" else -1.0
    mask = front_mask([(sx * p.x_mean, sy * p.y_mean) for p in points])
    for point, on in zip(points, mask, strict=True):
        point.on_front = on
    return sorted(points, key=lambda p: (p.x_mean, p.y_mean))
