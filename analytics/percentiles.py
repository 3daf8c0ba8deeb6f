"""Percentiles of a facts column, computed by the database: `percentiles(db, specs, where, group)`.

The definition is PostgreSQL's `percentile_cont` (linear interpolation between the two nearest ranks: the p-th
percentile of n sorted values x₀..xₙ₋₁ is x at position p·(n−1)). Every spec of a call is one statement on both
backends (a report's round trips, not its sorts, dominate on SQLite): PostgreSQL's ordered-set aggregates, and on
SQLite, which has none, one `row_number()` window per column (UNION ALL), sending back only the two ranks each
fraction lies between — interpolated the same way, so both backends give the same numbers. NULL values (a clock
that never stopped) are left out. Must never decide what is measured.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, cast, func, literal, or_, select, union_all

from backends.sql import SQL

# Results also carry each percentile's number of values, under its name with this suffix.
N_SUFFIX = "_n"


@dataclass(frozen=True)
class Pct:
    """The `fraction` (0..1) percentile of `column`, reported under `name`."""

    name: str
    column: ColumnElement[Any]
    fraction: float


Results = dict[Any, dict[str, float | None]]


async def percentiles(
    db: SQL,
    specs: Sequence[Pct],
    where: Sequence[ColumnElement[bool]],
    group: ColumnElement[Any] | None = None,
) -> Results:
    """{group value (None when not grouped): {spec name: value, spec name + N_SUFFIX: number of values}} over the
    rows matching `where`; a group with no value of a column gets None (and 0) for it. Ungrouped, the None entry is
    always there; grouped, groups with no rows at all are absent."""
    if db.dialect == "postgresql":
        out = await _percentile_cont(db, specs, where, group)
    elif group is None:
        out = {None: await _by_offsets(db, specs, where)}
    else:
        out = await _by_ranks(db, specs, where, group)
    if group is None and None not in out:
        out[None] = {}
    for values in out.values():
        for spec in specs:
            values.setdefault(spec.name, None)
            values.setdefault(f"{spec.name}{N_SUFFIX}", 0.0)
    return out


async def _percentile_cont(
    db: SQL, specs: Sequence[Pct], where: Sequence[ColumnElement[bool]], group: ColumnElement[Any] | None
) -> Results:
    """PostgreSQL: every spec, and each one's number of values, in one query."""
    key = (group if group is not None else literal(None)).label("g")
    columns = [func.percentile_cont(s.fraction).within_group(s.column).label(s.name) for s in specs]
    columns += [func.count(s.column).label(f"{s.name}{N_SUFFIX}") for s in specs]
    statement = select(key, *columns).where(*where)
    if group is not None:
        statement = statement.group_by(group)
    return {
        row["g"]: {name: None if value is None else float(value) for name, value in row.items() if name != "g"}
        for row in await db.fetch(statement)
    }


async def _by_ranks(
    db: SQL, specs: Sequence[Pct], where: Sequence[ColumnElement[bool]], group: ColumnElement[Any] | None
) -> Results:
    """SQLite: per column, the database numbers the sorted values of each group (`row_number()`) and sends back
    only the ranks the column's fractions interpolate between, with the group's number of values; one UNION ALL
    over the columns."""
    by_column: dict[str, list[Pct]] = defaultdict(list)
    for spec in specs:
        by_column[str(spec.column)].append(spec)
    parts = []
    for index, column_specs in enumerate(by_column.values()):
        column = column_specs[0].column
        partition = [group] if group is not None else None
        ranked = (
            select(
                (group if group is not None else literal(None)).label("g"),
                column.label("v"),
                func.row_number().over(partition_by=partition, order_by=column).label("rn"),
                func.count().over(partition_by=partition).label("n"),
            )
            .where(*where, column.is_not(None))
            .subquery()
        )
        wanted = []
        for spec in column_specs:
            low = cast(spec.fraction * (ranked.c.n - 1), Integer) + 1
            wanted += [ranked.c.rn == low, ranked.c.rn == low + 1]
        parts.append(
            select(literal(index).label("c"), ranked.c.g, ranked.c.v, ranked.c.rn, ranked.c.n).where(or_(*wanted))
        )
    ranks: dict[tuple[int, Any], tuple[int, dict[int, float]]] = {}
    for row in await db.fetch(parts[0] if len(parts) == 1 else union_all(*parts)):
        _, known = ranks.setdefault((int(row["c"]), row["g"]), (int(row["n"]), {}))
        known[int(row["rn"])] = float(row["v"])
    out: Results = {}
    for index, column_specs in enumerate(by_column.values()):
        for (c, g), found in ranks.items():
            if c != index:
                continue
            values = out.setdefault(g, {})
            for spec in column_specs:
                values[spec.name] = _from_ranks(found, spec.fraction)
                values[f"{spec.name}{N_SUFFIX}"] = float(found[0])
    return out


async def _by_offsets(db: SQL, specs: Sequence[Pct], where: Sequence[ColumnElement[bool]]) -> dict[str, float | None]:
    """Ungrouped percentiles on SQLite in two statements: every column's number of values, then for every fraction
    the two values it lies between (`ORDER BY column LIMIT 2 OFFSET k`, which reads a (day, column) index and keeps
    only the first k + 2 in its sorter; far cheaper there than numbering every value), all in one UNION ALL."""
    columns = {str(s.column): s.column for s in specs}
    counted = select(*(func.count(c).label(f"n{i}") for i, c in enumerate(columns.values()))).where(*where)
    counts = await db.fetchrow(counted)
    n = {name: int((counts or {}).get(f"n{i}") or 0) for i, name in enumerate(columns)}
    lows = {(name, int(s.fraction * (n[name] - 1))) for s in specs for name in [str(s.column)] if n[name]}
    parts = []
    for i, (name, low) in enumerate(sorted(lows)):
        column = columns[name]
        pair = (
            select(column.label("v"))
            .where(*where, column.is_not(None))
            .order_by(column)
            .offset(low)
            .limit(2)
            .subquery()
        )
        parts.append(select(literal(i).label("i"), func.min(pair.c.v).label("lo"), func.max(pair.c.v).label("hi")))
    found: dict[tuple[str, int], tuple[float, float]] = {}
    if parts:
        rows = await db.fetch(parts[0] if len(parts) == 1 else union_all(*parts))
        keys = sorted(lows)
        found = {keys[int(r["i"])]: (float(r["lo"]), float(r["hi"])) for r in rows}
    out: dict[str, float | None] = {}
    for spec in specs:
        count = n[str(spec.column)]
        out[f"{spec.name}{N_SUFFIX}"] = float(count)
        if not count:
            out[spec.name] = None
            continue
        position = spec.fraction * (count - 1)
        lo, hi = found[(str(spec.column), int(position))]
        out[spec.name] = lo + (hi - lo) * (position - int(position))
    return out


def _from_ranks(ranks: tuple[int, dict[int, float]], fraction: float) -> float | None:
    """`percentile_cont(fraction)` of n sorted values of which only the needed ranks (1-based) are known."""
    n, values = ranks
    if n == 0:
        return None
    position = fraction * (n - 1)
    low = int(position)
    high = min(low + 1, n - 1)
    return values[low + 1] + (values[high + 1] - values[low + 1]) * (position - low)


__all__ = ["N_SUFFIX", "Pct", "percentiles"]
