"""Duration histograms: per business day, slice and duration metric, how many values fell in each bucket, with the
smallest and the largest of them (`analytics_daily_durations`), so that a year's p50/p90 merges a few thousand
rows instead of sorting a year of facts; and the same counts coarser, per group of `GROUP_SIZE` consecutive buckets
(`analytics_daily_duration_groups`), so that a rank is placed in a group before the buckets of just that group are
read. `refresh(tx, days)` recomputes some days' rows from the facts (the projector calls it with the other rollups);
`histogram_percentiles(...)` merges a range's rows and reads percentiles off them.

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

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Table,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    union_all,
)

from analytics.percentiles import N_SUFFIX, Results
from analytics.rollups import literal_text
from analytics.tables import (
    ALL,  # the slice of every fact (its value is ALL too)
    FILTER_DIMENSIONS,
    analytics_agent_work,
    analytics_daily_duration_groups,
    analytics_daily_durations,
    analytics_daily_p90,
    analytics_handoffs,
    analytics_tickets,
)
from backends.sql import SQL

EXACT_BELOW_S = 60.0  # whole-second buckets below this many seconds
GROWTH = 1.02  # each later bucket is this many times as wide as the one before: the relative error bound is 2 %
# Rows are kept for blocks of 1, 4, 16, 64 and 256 days (aligned on day ordinals): a range of up to a year is tiled by
# a few dozen blocks, so a year's percentiles merge those blocks' rows, not 365 days' (`units`).
SPAN_FACTOR = 4
SPANS = (1, 4, 16, 64, 256)

# Buckets per group of the coarse histograms (`analytics_daily_duration_groups`): a rank is first placed in a group
# (a few dozen groups per block and slice), then in a bucket of that group (at most this many).
GROUP_SIZE = 16

D, G, P = analytics_daily_durations, analytics_daily_duration_groups, analytics_daily_p90
# The metrics whose exact p90 of each day the charts plot (`analytics_daily_p90`).
DAILY_P90 = ("first_response_s",)


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
    below: ColumnElement[float] = literal_column(repr(EXACT_BELOW_S))
    logarithmic = below + func.floor(func.ln(value / below) / literal_column(repr(math.log(GROWTH))))
    return cast(case((value < below, func.floor(value)), else_=logarithmic), Integer)


def group_of(bucket: ColumnElement[Any]) -> ColumnElement[int]:
    """The group of a bucket number: floor(bucket / GROUP_SIZE), so group k holds buckets k·GROUP_SIZE to
    k·GROUP_SIZE + GROUP_SIZE − 1 (`group_range`)."""
    return cast(func.floor(bucket / literal_column(repr(float(GROUP_SIZE)))), Integer)


def group_range(group: ColumnElement[Any]) -> tuple[ColumnElement[int], ColumnElement[int]]:
    """The first and the last bucket number of a group."""
    first = group * literal_column(str(GROUP_SIZE))
    return first, first + literal_column(str(GROUP_SIZE - 1))


COLUMNS = ["day", "span", "dimension", "value", "metric", "bucket", "n", "lo", "hi"]


def day_inserts(days: Collection[str] | None) -> list[Any]:
    """The INSERT … SELECT of every metric's and slice's one-day rows of `days` (None: all days) from the facts."""
    statements = []
    for metric in METRICS:
        source = metric.source
        value = source.c[metric.column]
        for dimension in (ALL, *metric.slices):
            bucket = bucket_of(value)
            key = literal_text(ALL) if dimension == ALL else source.c[dimension]
            groups = [source.c.day, bucket] if dimension == ALL else [source.c.day, key, bucket]
            chosen = select(
                source.c.day,
                literal_column("1"),
                literal_text(dimension),
                key,
                literal_text(metric.name),
                bucket,
                func.count(),
                func.min(value),
                func.max(value),
            ).where(value.is_not(None))
            if dimension != ALL:
                chosen = chosen.where(key.is_not(None))
            if days is not None:
                chosen = chosen.where(source.c.day.in_(sorted(days)))
            statements.append(insert(D).from_select(COLUMNS, chosen.group_by(*groups)))
    return statements


def _block_insert(span: int, start: dt.date) -> Any:
    """The INSERT … SELECT of the `span`-day block starting `start`, merged from its four blocks of a quarter span."""
    part = span // SPAN_FACTOR
    parts = [(start + dt.timedelta(days=k * part)).isoformat() for k in range(SPAN_FACTOR)]
    groups = [D.c.dimension, D.c.value, D.c.metric, D.c.bucket]
    chosen = (
        select(
            literal_text(start.isoformat()),
            literal_column(str(span)),
            *groups,
            func.sum(D.c.n),
            func.min(D.c.lo),
            func.max(D.c.hi),
        )
        .where(D.c.span == part, D.c.day.in_(parts))
        .group_by(*groups)
    )
    return insert(D).from_select(COLUMNS, chosen)


def block_start(day: dt.date, span: int) -> dt.date:
    """The first day of the `span`-day block that holds `day` (blocks are aligned on day ordinals)."""
    return dt.date.fromordinal(day.toordinal() // span * span)


def units(start: dt.date, end: dt.date) -> list[tuple[int, dt.date]]:
    """Aligned blocks (span, first day) that tile `start`..`end` exactly: greedily the largest block that starts at
    the next day and ends within the range, so at most three of each span at either end of the range (20 for a
    year, 12 for 30 days)."""
    out = []
    day = start
    while day <= end:
        span = next(s for s in reversed(SPANS) if block_start(day, s) == day and day + dt.timedelta(days=s - 1) <= end)
        out.append((span, day))
        day += dt.timedelta(days=span)
    return out


def blocks_of(days: Collection[str]) -> dict[int, list[dt.date]]:
    """{span: the first days, in order, of the blocks of that span that hold one of `days`}, every span, smallest
    first."""
    dates = {dt.date.fromisoformat(d) for d in days}
    return {span: sorted({block_start(d, span) for d in dates}) for span in SPANS}


def block_inserts(days: Collection[str]) -> list[Any]:
    """The INSERT … SELECT of every block larger than a day that holds one of `days`, smaller spans first (each
    merges the four blocks below it, so the one-day rows must be there)."""
    return [_block_insert(span, b) for span, starts in blocks_of(days).items() if span > 1 for b in starts]


def group_inserts(blocks: Mapping[int, Sequence[str]] | None) -> list[Any]:
    """The INSERT … SELECT of the coarse histograms' rows of `blocks` ({span: first days}; None: every block) from
    the histograms' rows, which must be there."""
    keys = [D.c.day, D.c.span, D.c.dimension, D.c.value, D.c.metric]
    chosen = select(*keys, group_of(D.c.bucket), func.sum(D.c.n)).group_by(*keys, group_of(D.c.bucket))
    columns = ["day", "span", "dimension", "value", "metric", "bucket_group", "n"]
    if blocks is None:
        return [insert(G).from_select(columns, chosen)]
    return [
        insert(G).from_select(columns, chosen.where(D.c.span == span, D.c.day.in_(part)))
        for span, starts in blocks.items()
        for part in _parts(starts)
    ]


def _parts(values: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    """`values` in slices of at most `size` (an IN list per statement stays well within both backends' limits)."""
    return [values[k : k + size] for k in range(0, len(values), size)]


def p90_facts(metric: str, days: Collection[str] | None) -> Any:
    """The SELECT of `metric`'s values with their day and slice dimensions, of `days` (None: all days)."""
    m = BY_NAME[metric]
    value = m.source.c[m.column]
    chosen = select(m.source.c.day, *(m.source.c[d] for d in m.slices), value.label("v")).where(value.is_not(None))
    return chosen if days is None else chosen.where(m.source.c.day.in_(sorted(days)))


def p90_rows(metric: str, facts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The `analytics_daily_p90` rows of `metric` from its facts (`p90_facts`): each day's and slice's exact p90
    (`percentile_cont(0.9)`) and number of values."""
    values: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    slices = BY_NAME[metric].slices
    for row in facts:
        v = float(row["v"])
        values[(row["day"], ALL, ALL)].append(v)
        for dimension in slices:
            if row[dimension] is not None:
                values[(row["day"], dimension, row[dimension])].append(v)
    out = []
    for (day, dimension, value), found in values.items():
        found.sort()
        out.append(
            {
                "day": day,
                "dimension": dimension,
                "value": value,
                "metric": metric,
                "p90": exact_percentile(found, 0.9),
                "n": len(found),
            }
        )
    return out


async def refresh(tx: SQL, days: Collection[str] | None) -> None:
    """Recomputes the histograms of `days` (None: all days) from the facts: their one-day rows, then every larger
    block that holds one of them, then those blocks' coarse rows."""
    blocks: dict[int, list[str]] | None = None
    if days is None:
        await tx.execute(delete(D))
        await tx.execute(delete(G))
    else:
        blocks = {span: [b.isoformat() for b in starts] for span, starts in blocks_of(days).items()}
        for table in (D, G):
            for span, starts in blocks.items():
                for part in _parts(starts):
                    await tx.execute(delete(table).where(table.c.span == span, table.c.day.in_(part)))
    for statement in day_inserts(days):
        await tx.execute(statement)
    if days is None:
        days = [str(r["day"]) for r in await tx.fetch(select(D.c.day).where(D.c.span == 1).distinct())]
    for statement in [*block_inserts(days), *group_inserts(blocks)]:
        await tx.execute(statement)
    day_list = None if days is None else sorted(days)
    await tx.execute(delete(P) if day_list is None else delete(P).where(P.c.day.in_(day_list)))
    for metric in DAILY_P90:
        rows = p90_rows(metric, await tx.fetch(p90_facts(metric, day_list)))
        if rows:
            await tx.execute(insert(P), rows)


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
    periods: Mapping[str, tuple[dt.date, dt.date]],
    *,
    filters: Mapping[str, str] | None = None,
    per_value: str | None = None,
) -> Results:
    """Percentiles like `analytics.percentiles.percentiles` ({group: {spec name: value, spec name + N_SUFFIX: number
    of values}}) of each of `periods` (name → first and last day), from the slice of `filters` (at most one; none:
    `ALL`): grouped by period name (each always present), or, `per_value`, by the values of that dimension (an
    unfiltered slice each; one period).

    One statement, so one snapshot: the database merges the blocks' coarse rows, numbers their values (running
    sums), keeps the groups that hold the ranks the fractions need, and sends back just those groups' buckets, merged
    from the blocks' histograms, each with the number of values before its group. A year's medians per agent thus
    read about ten group rows and at most `GROUP_SIZE` buckets per block, agent and metric (at a million
    conversations a year; docs/benchmarks.md §8), and give the numbers merging every bucket would."""
    filters = filters or {}
    if not sliceable(filters) or (per_value is not None and filters):
        raise ValueError("the histograms answer at most one filter, and a per-value grouping none")
    metrics = sorted({s.metric for s in specs})

    def of_slice(table: Table) -> list[ColumnElement[bool]]:
        if per_value is not None:
            return [table.c.dimension == per_value, table.c.metric.in_(metrics)]
        (dimension, value), *_ = [*filters.items(), (ALL, ALL)]
        return [table.c.dimension == dimension, table.c.value == value, table.c.metric.in_(metrics)]

    names = list(periods)
    tiles = _tiles(periods)
    key = G.c.value if per_value is not None else tiles.c.period
    merged = (
        select(key.label("g"), G.c.metric, G.c.bucket_group, func.sum(G.c.n).label("n"))
        .select_from(tiles.join(G, and_(G.c.span == tiles.c.span, G.c.day == tiles.c.day)))
        .where(*of_slice(G))
        .group_by(key, G.c.metric, G.c.bucket_group)
        .subquery("merged")
    )
    partition = [merged.c.g, merged.c.metric]
    ranked = select(
        merged,
        func.sum(merged.c.n).over(partition_by=partition, order_by=merged.c.bucket_group).label("upto"),
        func.sum(merged.c.n).over(partition_by=partition).label("total"),
    ).subquery("ranked")
    r = ranked.c

    def holds(rank: ColumnElement[Any]) -> ColumnElement[bool]:
        return and_(r.upto - r.n <= rank, rank < r.upto)

    wanted = []
    for spec in specs:
        low = cast(func.floor(literal_column(repr(spec.fraction)) * (r.total - 1)), Integer)
        wanted.append(and_(r.metric == spec.metric, or_(holds(low), holds(low + 1))))
    needed = (
        select(r.g, r.metric, r.bucket_group, (r.upto - r.n).label("before"), r.total).where(or_(*wanted)).cte("needed")
    )
    first, last = group_range(needed.c.bucket_group)
    block = and_(D.c.span == tiles.c.span, D.c.day == tiles.c.day)
    own = D.c.value == needed.c.g if per_value is not None else tiles.c.period == needed.c.g
    in_group = [*of_slice(D), own, D.c.metric == needed.c.metric, D.c.bucket.between(first, last)]
    sums = [func.sum(D.c.n).label("n"), func.min(D.c.lo).label("lo"), func.max(D.c.hi).label("hi")]
    head = [needed.c.g, needed.c.metric, needed.c.bucket_group, needed.c.before, needed.c.total]
    if db.dialect == "postgresql":
        # LATERAL: each needed group's buckets are read as index ranges, one per block. As a join, the planner may
        # hash the whole slice of every block instead (it cannot know how few groups are needed).
        fine = (
            select(D.c.bucket, *sums).select_from(tiles.join(D, block)).where(*in_group).group_by(D.c.bucket)
        ).lateral("fine")
        buckets = select(*head, fine.c.bucket, fine.c.n, fine.c.lo, fine.c.hi).select_from(needed.join(fine, true()))
    else:
        # SQLite has no LATERAL; its planner looks each needed group's buckets up by the index anyway.
        buckets = (
            select(*head, D.c.bucket, *sums)
            .select_from(needed.join(tiles, true()).join(D, block))
            .where(*in_group)
            .group_by(*head, D.c.bucket)
        )
    order = [needed.c.g, needed.c.metric, needed.c.bucket_group, buckets.selected_columns.bucket]
    found: dict[tuple[Any, str], tuple[int, list[Bucket]]] = {}
    running: dict[tuple[Any, str, int], int] = {}
    for row in await db.fetch(buckets.order_by(*order)):
        group = row["g"] if per_value is not None else names[int(row["g"])]
        at = (group, row["metric"], int(row["bucket_group"]))
        before = running.get(at, int(row["before"]))
        n = int(row["n"])
        running[at] = before + n
        _, kept = found.setdefault((group, row["metric"]), (int(row["total"]), []))
        kept.append((before, n, float(row["lo"]), float(row["hi"])))
    out: Results = {} if per_value is not None else {name: {} for name in names}
    for (group, metric), (total, kept) in found.items():
        values = out.setdefault(group, {})
        for spec in specs:
            if spec.metric == metric:
                values[spec.name] = percentile_of(kept, total, spec.fraction)
                values[f"{spec.name}{N_SUFFIX}"] = float(total)
    for values in out.values():
        for spec in specs:
            values.setdefault(spec.name, None)
            values.setdefault(f"{spec.name}{N_SUFFIX}", 0.0)
    return out


def _tiles(periods: Mapping[str, tuple[dt.date, dt.date]]) -> Any:
    """The blocks that tile each period, as a table the histograms join (an index look-up per block), tagged with the
    period's number; literal SQL (validated dates and small integers) so that both backends know its types."""
    return union_all(
        *(
            select(
                literal_column(str(index)).label("period"),
                literal_column(str(span)).label("span"),
                literal_column(f"'{day.isoformat()}'").label("day"),
            )
            for index, (start, end) in enumerate(periods.values())
            for span, day in units(start, end)
        )
    ).cte("tiles")


# A bucket as merged: (number of values in earlier buckets, its number of values, its smallest, its largest value).
Bucket = tuple[int, int, float, float]


def percentile_of(buckets: Sequence[Bucket], total: int, fraction: float) -> float | None:
    """`percentile_cont(fraction)` of `total` values, from `buckets` (at least those holding the ranks it needs),
    each rank's value estimated inside its bucket (see the module docstring)."""
    if not total:
        return None
    position = fraction * (total - 1)
    low = int(position)
    at_low = _at_rank(buckets, low)
    if position == low:
        return at_low
    return at_low + (_at_rank(buckets, low + 1) - at_low) * (position - low)


def exact_percentile(ordered: Sequence[float], fraction: float) -> float:
    """`percentile_cont(fraction)` of the non-empty sorted values `ordered`."""
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _at_rank(buckets: Sequence[Bucket], rank: int) -> float:
    """The estimated value at 0-based `rank`: its bucket's smallest value, its largest, or in between by place."""
    for before, n, lo, hi in buckets:
        if before <= rank < before + n:
            place = rank - before
            return lo if n == 1 else lo + (hi - lo) * place / (n - 1)
    raise IndexError(rank)


__all__ = [
    "ALL",
    "BY_NAME",
    "DAILY_P90",
    "EXACT_BELOW_S",
    "GROUP_SIZE",
    "GROWTH",
    "METRICS",
    "SPANS",
    "Bucket",
    "HPct",
    "Metric",
    "block_inserts",
    "block_start",
    "blocks_of",
    "bucket_of",
    "day_inserts",
    "exact_percentile",
    "group_inserts",
    "group_of",
    "group_range",
    "histogram_percentiles",
    "p90_facts",
    "p90_rows",
    "percentile_of",
    "refresh",
    "sliceable",
    "units",
]
