"""Percentiles of a facts column, computed by the database where it can: `percentiles(db, specs, where, group)`.

The definition is PostgreSQL's `percentile_cont` (linear interpolation between the two nearest ranks: the p-th
percentile of n sorted values x₀..xₙ₋₁ is x at position p·(n−1)); PostgreSQL computes it in one grouped query, and
SQLite, which has no ordered-set aggregates, sends the range's non-null values sorted by the index-friendly query
and they are interpolated here the same way — so both backends give the same numbers. NULL values (a clock that
never stopped) are left out. Must never decide what is measured.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Label, func, literal, select

from backends.sql import SQL


@dataclass(frozen=True)
class Pct:
    """The `fraction` (0..1) percentile of `column`, reported under `name`."""

    name: str
    column: ColumnElement[Any]
    fraction: float


def interpolate(values: Sequence[float], fraction: float) -> float | None:
    """`percentile_cont(fraction)` of already sorted `values`; None for none."""
    if not values:
        return None
    position = fraction * (len(values) - 1)
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return float(values[low] + (values[high] - values[low]) * (position - low))


async def percentiles(
    db: SQL,
    specs: Sequence[Pct],
    where: Sequence[ColumnElement[bool]],
    group: ColumnElement[Any] | None = None,
) -> dict[Any, dict[str, float | None]]:
    """{group value (None when not grouped): {spec name: value}} over the rows matching `where`; a group with no
    value of a column gets None for it (groups with no rows at all are absent)."""
    key: Label[Any] = (group if group is not None else literal(None)).label("g")
    out: dict[Any, dict[str, float | None]] = defaultdict(lambda: dict.fromkeys(s.name for s in specs))
    if db.dialect == "postgresql":
        aggregates = [func.percentile_cont(s.fraction).within_group(s.column).label(s.name) for s in specs]
        statement = select(key, *aggregates).where(*where)
        if group is not None:
            statement = statement.group_by(group)
        for row in await db.fetch(statement):
            out[row["g"]].update({s.name: None if row[s.name] is None else float(row[s.name]) for s in specs})
        return dict(out)
    by_column: dict[str, list[Pct]] = defaultdict(list)
    columns: dict[str, ColumnElement[Any]] = {}
    for spec in specs:
        name = str(spec.column)
        by_column[name].append(spec)
        columns[name] = spec.column
    for name, column_specs in by_column.items():
        column = columns[name]
        ordered = (key, column) if group is not None else (column,)
        rows = await db.fetch(select(key, column.label("v")).where(*where, column.is_not(None)).order_by(*ordered))
        values: dict[Any, list[float]] = defaultdict(list)
        for row in rows:
            values[row["g"]].append(float(row["v"]))
        for g, sorted_values in values.items():
            out[g].update({s.name: interpolate(sorted_values, s.fraction) for s in column_specs})
    return dict(out)


__all__ = ["Pct", "interpolate", "percentiles"]
