"""Duration histograms: per business day, slice and duration metric, how many values fell in each bucket, with the
smallest and the largest of them (`analytics_daily_durations`), so that a year's p50/p90 merges a few thousand
rows instead of sorting a year of facts. `refresh(tx, days)` recomputes some days' rows from the facts (the
projector calls it with the other rollups); `histogram_percentiles(...)` merges a range's rows and reads
percentiles off them.

Buckets (`bucket_of`): one per whole second below `EXACT_BELOW_S`, then log-spaced, each `GROWTH` times as wide as
the one before. A percentile is `percentile_cont`'s interpolation between the values at two ranks, and the value at
a rank is estimated inside its bucket: between the bucket's smallest and largest value, by the rank's place among
the bucket's values (exact when the bucket holds one or two distinct values). Both the estimate and the true value
lie in the same bucket, so the error is below one bucket's width: under 1 s + (GROWTH − 1) × the true value
(docs/metrics.md, "Percentiles"). Must never read the record; the facts are its only input.

A slice is all facts (`ALL`, value "") or the facts with one filter dimension at one value: a report with at most
one filter reads its slice; one with more filters reads the facts (`analytics.percentiles`, exact).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, Table, case, cast, delete, func, insert, literal, literal_column, select

from analytics.percentiles import N_SUFFIX, Results
from analytics.query import ReportQuery
from analytics.tables import (
    FILTER_DIMENSIONS,
    analytics_agent_work,
    analytics_daily_durations,
    analytics_handoffs,
    analytics_tickets,
)
from backends.sql import SQL

EXACT_BELOW_S = 60.0  # whole-second buckets below this many seconds
GROWTH = 1.02  # each later bucket is this many times as wide as the one before: the relative error bound is 2 %
ALL = ""  # the slice of every fact (its value is "" too)

D = analytics_daily_durations


@dataclass(frozen=True)
class Metric:
    """A duration `column` of the facts table `source`, kept per day under `name` for `ALL` and each of `slices`."""

    name: str
    source: Table
    column: str
    slices: tuple[str, ...]


H, T, W = analytics_handoffs, analytics_tickets, analytics_agent_work
METRICS: tuple[Metric, ...] = (
    *(
        Metric(c, H, c, FILTER_DIMENSIONS)
        for c in ("queue_wait_s", "first_response_s", "first_response_bh_s", "next_reply_s", "handle_s")
    ),
    Metric("ticket_first_response_s", T, "first_response_s", FILTER_DIMENSIONS),
    Metric("resolution_s", T, "resolution_s", FILTER_DIMENSIONS),
    # The agents table's: each agent's own work (it has no other dimension).
    Metric("agent_first_response_s", W, "first_response_s", ("agent",)),
    Metric("agent_handle_s", W, "handle_s", ("agent",)),
)
BY_NAME = {m.name: m for m in METRICS}


def bucket_of(value: ColumnElement[Any]) -> ColumnElement[int]:
    """The bucket number of a duration in seconds: floor(value) below `EXACT_BELOW_S`, above it
    EXACT_BELOW_S + floor(log_GROWTH(value / EXACT_BELOW_S)). Increasing in the value. The constants are literal SQL,
    not bound parameters, so PostgreSQL sees the GROUP BY expression as the very one selected."""
    below = literal_column(repr(EXACT_BELOW_S))
    logarithmic = below + func.floor(func.ln(value / below) / literal_column(repr(math.log(GROWTH))))
    return cast(case((value < below, func.floor(value)), else_=logarithmic), Integer)


def _text(value: str) -> ColumnElement[str]:
    """A name from this module as an SQL string literal (PostgreSQL must know its type in INSERT … SELECT)."""
    return literal_column(f"'{value}'")


def _inserts(days: Collection[str] | None) -> list[Any]:
    """The INSERT … SELECT of every metric's and slice's rows of `days` (None: all days)."""
    statements = []
    for metric in METRICS:
        source = metric.source
        value = source.c[metric.column]
        for dimension in (ALL, *metric.slices):
            bucket = bucket_of(value)
            key = _text(ALL) if dimension == ALL else source.c[dimension]
            groups = [source.c.day, bucket] if dimension == ALL else [source.c.day, key, bucket]
            chosen = select(
                source.c.day,
                _text(dimension),
                key,
                _text(metric.name),
                bucket,
                func.count(),
                func.min(value),
                func.max(value),
            ).where(value.is_not(None))
            if dimension != ALL:
                chosen = chosen.where(key.is_not(None))
            if days is not None:
                chosen = chosen.where(source.c.day.in_(sorted(days)))
            chosen = chosen.group_by(*groups)
            names = ["day", "dimension", "value", "metric", "bucket", "n", "lo", "hi"]
            statements.append(insert(D).from_select(names, chosen))
    return statements


async def refresh(tx: SQL, days: Collection[str] | None) -> None:
    """Recomputes the histograms of `days` (None: all days) from the facts."""
    if days is None:
        await tx.execute(delete(D))
    else:
        await tx.execute(delete(D).where(D.c.day.in_(sorted(days))))
    for statement in _inserts(days):
        await tx.execute(statement)


@dataclass(frozen=True)
class HPct:
    """The `fraction` (0..1) percentile of the histogram `metric`, reported under `name`."""

    name: str
    metric: str
    fraction: float


def sliceable(filters: Mapping[str, str]) -> bool:
    """Whether the histograms can answer a query with these filters: at most one."""
    return len(filters) <= 1


async def histogram_percentiles(
    db: SQL,
    specs: Sequence[HPct],
    query: ReportQuery,
    group: ColumnElement[Any] | None = None,
    *,
    per_value: str | None = None,
) -> Results:
    """{group value: {spec name: value, spec name + N_SUFFIX: number of values}} over `query`'s days, like
    `analytics.percentiles.percentiles`. The slice is `query`'s one filter (or `ALL`); `per_value` instead groups by
    the values of that dimension (unfiltered queries only). `group` is an expression over `D`'s columns (its `day`,
    for instance); the None entry is always there when neither groups."""
    if not sliceable(query.filters) or (per_value is not None and query.filters):
        raise ValueError("the histograms answer at most one filter, and a per-value grouping none")
    if per_value is not None:
        where = [D.c.dimension == per_value]
        key: ColumnElement[Any] = D.c.value
    else:
        (dimension, value), *_ = [*query.filters.items(), (ALL, ALL)]
        where = [D.c.dimension == dimension, D.c.value == value]
        key = group if group is not None else literal(None)
    metrics = sorted({s.metric for s in specs})
    statement = (
        select(
            key.label("g"),
            D.c.metric,
            D.c.bucket,
            func.sum(D.c.n).label("n"),
            func.min(D.c.lo).label("lo"),
            func.max(D.c.hi).label("hi"),
        )
        .where(*where, D.c.metric.in_(metrics), D.c.day >= query.start.isoformat(), D.c.day <= query.end.isoformat())
        .group_by(key, D.c.metric, D.c.bucket)
    )
    merged: dict[tuple[Any, str], list[tuple[int, int, float, float]]] = defaultdict(list)
    for row in await db.fetch(statement):
        bucket = (int(row["bucket"]), int(row["n"]), float(row["lo"]), float(row["hi"]))
        merged[(row["g"], row["metric"])].append(bucket)
    out: Results = {}
    if per_value is None and group is None:
        out[None] = {}
    for (g, metric), buckets in merged.items():
        buckets.sort()
        values = out.setdefault(g, {})
        for spec in specs:
            if spec.metric == metric:
                values[spec.name] = percentile_of(buckets, spec.fraction)
                values[f"{spec.name}{N_SUFFIX}"] = float(sum(b[1] for b in buckets))
    for values in out.values():
        for spec in specs:
            values.setdefault(spec.name, None)
            values.setdefault(f"{spec.name}{N_SUFFIX}", 0.0)
    return out


def percentile_of(buckets: Sequence[tuple[int, int, float, float]], fraction: float) -> float | None:
    """`percentile_cont(fraction)` of the values of `buckets` ((bucket, count, smallest, largest), in bucket order),
    each rank's value estimated inside its bucket (see the module docstring)."""
    total = sum(b[1] for b in buckets)
    if not total:
        return None
    position = fraction * (total - 1)
    low = int(position)
    at_low = _at_rank(buckets, low)
    if position == low:
        return at_low
    return at_low + (_at_rank(buckets, low + 1) - at_low) * (position - low)


def _at_rank(buckets: Sequence[tuple[int, int, float, float]], rank: int) -> float:
    """The estimated value at 0-based `rank`: the bucket's smallest value, its largest, or in between by place."""
    before = 0
    for _, n, lo, hi in buckets:
        if rank < before + n:
            place = rank - before
            return lo if n == 1 else lo + (hi - lo) * place / (n - 1)
        before += n
    raise IndexError(rank)


__all__ = [
    "ALL",
    "BY_NAME",
    "EXACT_BELOW_S",
    "GROWTH",
    "METRICS",
    "HPct",
    "Metric",
    "bucket_of",
    "histogram_percentiles",
    "percentile_of",
    "refresh",
    "sliceable",
]
