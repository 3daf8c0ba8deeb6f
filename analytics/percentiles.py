"""Percentiles of a facts column, computed by the database where it can: `percentiles(db, specs, where, group)`.

The definition is PostgreSQL's `percentile_cont` (linear interpolation between the two nearest ranks: the p-th
percentile of n sorted values x₀..xₙ₋₁ is x at position p·(n−1)). PostgreSQL computes every spec in one query.
SQLite has no ordered-set aggregates: an ungrouped percentile (a KPI) is read as the two values its position lies
between (`ORDER BY … OFFSET` over the column's covering (day, value) index), grouped ones (per day, agent, team)
with `row_number()`, which sends back only the ranks each fraction needs — interpolated the same way, so both
backends give the same numbers. NULL values (a clock that never stopped) are left out. Must never decide what is
measured.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, Label, cast, func, literal, or_, select

from backends.sql import SQL

# Ungrouped results also carry each percentile's number of values, under its name with this suffix.
N_SUFFIX = "_n"


@dataclass(frozen=True)
class Pct:
    """The `fraction` (0..1) percentile of `column`, reported under `name`."""

    name: str
    column: ColumnElement[Any]
    fraction: float


async def percentiles(
    db: SQL,
    specs: Sequence[Pct],
    where: Sequence[ColumnElement[bool]],
    group: ColumnElement[Any] | None = None,
) -> dict[Any, dict[str, float | None]]:
    """{group value (None when not grouped): {spec name: value}} over the rows matching `where`; a group with no
    value of a column gets None for it (groups with no rows at all are absent)."""
    if db.dialect == "postgresql":
        return await _percentile_cont(db, specs, where, group)
    if group is None:
        return {None: await _by_offsets(db, specs, where)}
    key: Label[Any] = group.label("g")
    out: dict[Any, dict[str, float | None]] = defaultdict(lambda: dict.fromkeys(s.name for s in specs))
    by_column: dict[str, list[Pct]] = defaultdict(list)
    columns: dict[str, ColumnElement[Any]] = {}
    for spec in specs:
        by_column[str(spec.column)].append(spec)
        columns[str(spec.column)] = spec.column
    for name, column_specs in by_column.items():
        for g, ranks in (await _ranks(db, columns[name], where, key, group, column_specs)).items():
            out[g].update({s.name: _from_ranks(ranks, s.fraction) for s in column_specs})
    return dict(out)


async def _percentile_cont(
    db: SQL, specs: Sequence[Pct], where: Sequence[ColumnElement[bool]], group: ColumnElement[Any] | None
) -> dict[Any, dict[str, float | None]]:
    """PostgreSQL: every spec (and, ungrouped, each one's number of values under "<name>_n") in one query."""
    key: Label[Any] = (group if group is not None else literal(None)).label("g")
    columns = [func.percentile_cont(s.fraction).within_group(s.column).label(s.name) for s in specs]
    if group is None:
        columns += [func.count(s.column).label(f"{s.name}{N_SUFFIX}") for s in specs]
    statement = select(key, *columns).where(*where)
    if group is not None:
        statement = statement.group_by(group)
    return {
        row["g"]: {name: None if value is None else float(value) for name, value in row.items() if name != "g"}
        for row in await db.fetch(statement)
    }


async def _ranks(
    db: SQL,
    column: ColumnElement[Any],
    where: Sequence[ColumnElement[bool]],
    key: Label[Any],
    group: ColumnElement[Any],
    specs: Sequence[Pct],
) -> dict[Any, tuple[int, dict[int, float]]]:
    """{group: (n, {rank: value})} for just the ranks the fractions interpolate between (1-based, as row_number):
    the database numbers the sorted values with a window function and sends back two rows per fraction, not all."""
    partition = [group]
    ranked = (
        select(
            key,
            column.label("v"),
            func.row_number().over(partition_by=partition, order_by=column).label("rn"),
            func.count().over(partition_by=partition).label("n"),
        )
        .where(*where, column.is_not(None))
        .subquery()
    )
    wanted = []
    for spec in specs:
        low = cast(spec.fraction * (ranked.c.n - 1), Integer) + 1
        wanted += [ranked.c.rn == low, ranked.c.rn == low + 1]
    rows = await db.fetch(select(ranked.c.g, ranked.c.v, ranked.c.rn, ranked.c.n).where(or_(*wanted)))
    out: dict[Any, tuple[int, dict[int, float]]] = {}
    for row in rows:
        _, values = out.setdefault(row["g"], (int(row["n"]), {}))
        values[int(row["rn"])] = float(row["v"])
    return out


async def _by_offsets(db: SQL, specs: Sequence[Pct], where: Sequence[ColumnElement[bool]]) -> dict[str, float | None]:
    """Ungrouped percentiles on SQLite, and under "<name>_n" how many values each had: per column the
    count, then per fraction the two values it lies between (`ORDER BY column LIMIT 2 OFFSET k`), read from the
    (day, column) index alone, where reading the rows would cost many times more."""
    out: dict[str, float | None] = {}
    by_column: dict[str, list[Pct]] = defaultdict(list)
    for spec in specs:
        by_column[str(spec.column)].append(spec)
    for column_specs in by_column.values():
        column = column_specs[0].column
        present = [*where, column.is_not(None)]
        n = int(await db.fetchval(select(func.count()).where(*present)) or 0)
        for spec in column_specs:
            out[f"{spec.name}{N_SUFFIX}"] = float(n)
            if n == 0:
                out[spec.name] = None
                continue
            low = int(spec.fraction * (n - 1))
            ordered = select(column.label("v")).where(*present).order_by(column).offset(low).limit(2)
            rows = await db.fetch(ordered)
            values = {low + 1 + i: float(r["v"]) for i, r in enumerate(rows)}
            out[spec.name] = _from_ranks((n, values), spec.fraction)
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
