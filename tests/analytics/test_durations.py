"""The duration histograms (`analytics.durations`) on both backends: blocks tile any range, percentiles read off the
histograms stay within the bound docs/metrics.md states (1 s + 2 % of the exact value) of `percentile_cont` over
the facts, counts are exact, and refreshing some days gives the rows a full refresh gives."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

import pytest
from sqlalchemy import Table, insert, select, text, update

from analytics import durations
from analytics.durations import SPANS, Bucket, HPct, block_start, histogram_percentiles, percentile_of, units
from analytics.percentiles import Pct, percentiles
from analytics.query import ReportQuery
from analytics.tables import (
    analytics_daily_duration_groups,
    analytics_daily_durations,
    analytics_daily_p90,
    analytics_handoffs,
)
from backends.sql import Database

FIRST = dt.date(2026, 1, 1)
DAYS = 70
H = analytics_handoffs


def within_bound(estimate: float | None, exact: float | None) -> bool:
    assert estimate is not None and exact is not None
    return abs(estimate - exact) < 1.0 + (durations.GROWTH - 1) * abs(exact)


@pytest.mark.parametrize(
    ("start", "end"),
    [(FIRST, FIRST), (FIRST, FIRST + dt.timedelta(days=29)), (dt.date(2025, 12, 1), FIRST.replace(month=11, day=30))],
)
def test_blocks_tile_a_range_exactly_and_are_few(start: dt.date, end: dt.date) -> None:
    tiles = units(start, end)
    day = start
    for span, first in tiles:
        assert first == day and block_start(first, span) == first and span in SPANS
        day = first + dt.timedelta(days=span)
    assert day == end + dt.timedelta(days=1)
    assert len(tiles) <= 2 * 3 * len(SPANS)


def test_a_bucket_of_one_or_two_values_gives_them_exactly() -> None:
    buckets = [(0, 1, 5.0, 5.0), (1, 2, 100.0, 101.0), (3, 1, 300.0, 300.0)]
    assert percentile_of(buckets, 4, 0.0) == 5.0
    assert percentile_of(buckets, 4, 1 / 3) == 100.0
    assert percentile_of(buckets, 4, 2 / 3) == 101.0
    assert percentile_of(buckets, 4, 0.5) == pytest.approx(100.5)
    assert percentile_of(buckets, 4, 1.0) == 300.0
    assert percentile_of([], 0, 0.5) is None


def test_a_rank_inside_a_bucket_of_many_values_lies_between_its_smallest_and_largest() -> None:
    assert percentile_of([(10, 5, 100.0, 104.0)], 30, 13 / 29) == pytest.approx(103.0)


async def _random_handoffs(db: Database, seed: int = 7) -> None:
    """Handoff facts over `DAYS` days: durations from a second to days, log-uniform, on two channels."""
    rng = random.Random(seed)
    rows = []
    for i in range(1500):
        day = FIRST + dt.timedelta(days=rng.randrange(DAYS))
        rows.append(
            {
                "id": f"h{i}",
                "conversation_id": f"c{i}",
                "requested_at": 0.0,
                "day": day.isoformat(),
                "channel": rng.choice(("web", "wechat")),
                "queue_wait_s": None if i % 7 == 0 else round(10 ** rng.uniform(0, 5.5), rng.choice((0, 3))),
                "first_response_s": rng.choice((30.0, 45.0, 10 ** rng.uniform(1, 4))),
            }
        )
    await db.execute(insert(H), rows)


@pytest.mark.parametrize(("start", "length"), [(0, 1), (3, 30), (0, DAYS)])
async def test_histogram_percentiles_are_within_the_bound_of_the_exact_ones(
    database: Database, start: int, length: int
) -> None:
    await _random_handoffs(database)
    async with database.transaction() as tx:
        await durations.refresh(tx, None)
    first = FIRST + dt.timedelta(days=start)
    last = first + dt.timedelta(days=length - 1)
    for filters in ({}, {"channel": "web"}):
        query = ReportQuery(first, last, "Asia/Shanghai", filters)
        specs = [HPct(f"{m}{f}", m, f) for m in ("queue_wait_s", "first_response_s") for f in (0.5, 0.9)]
        estimated = (await histogram_percentiles(database, specs, {"r": (first, last)}, filters=filters))["r"]
        exact_specs = [Pct(s.name, H.c[s.metric], s.fraction) for s in specs]
        exact = (await percentiles(database, exact_specs, query.where(H)))[None]
        for spec in specs:
            assert estimated[f"{spec.name}_n"] == exact[f"{spec.name}_n"]
            if exact[spec.name] is not None:
                assert within_bound(estimated[spec.name], exact[spec.name]), (spec, filters)


async def test_reading_only_the_groups_that_hold_the_ranks_gives_what_merging_every_bucket_gives(
    database: Database,
) -> None:
    await _random_handoffs(database, seed=11)
    async with database.transaction() as tx:
        await durations.refresh(tx, None)
    first, last = FIRST + dt.timedelta(days=2), FIRST + dt.timedelta(days=DAYS - 3)
    fractions = (0.0, 0.1, 0.5, 0.9, 0.99, 1.0)
    specs = [HPct(f"{m}{f}", m, f) for m in ("queue_wait_s", "first_response_s") for f in fractions]
    D = analytics_daily_durations
    for filters, (dimension, value) in (({}, ("", "")), ({"channel": "web"}, ("channel", "web"))):
        estimated = (await histogram_percentiles(database, specs, {"r": (first, last)}, filters=filters))["r"]
        for metric in ("queue_wait_s", "first_response_s"):
            merged: dict[int, tuple[int, float, float]] = {}
            for span, day in units(first, last):
                rows = await database.fetch(
                    select(D.c.bucket, D.c.n, D.c.lo, D.c.hi).where(
                        D.c.span == span,
                        D.c.day == day.isoformat(),
                        D.c.dimension == dimension,
                        D.c.value == value,
                        D.c.metric == metric,
                    )
                )
                for row in rows:
                    n, lo, hi = merged.get(row["bucket"], (0, row["lo"], row["hi"]))
                    merged[row["bucket"]] = (n + row["n"], min(lo, row["lo"]), max(hi, row["hi"]))
            every: list[Bucket] = []
            before = 0
            for bucket in sorted(merged):
                n, lo, hi = merged[bucket]
                every.append((before, n, lo, hi))
                before += n
            for f in fractions:
                assert estimated[f"{metric}{f}"] == pytest.approx(percentile_of(every, before, f)), (metric, f)
                assert estimated[f"{metric}{f}_n"] == before


async def test_the_daily_p90_is_exact(database: Database) -> None:
    await _random_handoffs(database)
    async with database.transaction() as tx:
        await durations.refresh(tx, None)
    day = FIRST + dt.timedelta(days=5)
    query = ReportQuery(day, day, "Asia/Shanghai", {"channel": "wechat"})
    exact = (await percentiles(database, [Pct("p90", H.c.first_response_s, 0.9)], query.where(H)))[None]
    P = analytics_daily_p90
    kept = await database.fetchrow(
        select(P.c.p90, P.c.n).where(P.c.day == day.isoformat(), P.c.dimension == "channel", P.c.value == "wechat")
    )
    assert kept is not None and (kept["p90"], kept["n"]) == (pytest.approx(exact["p90"]), exact["p90_n"])


async def test_refreshing_the_days_that_changed_gives_what_a_full_refresh_gives(database: Database) -> None:
    await _random_handoffs(database)
    async with database.transaction() as tx:
        await durations.refresh(tx, None)
    changed = (FIRST + dt.timedelta(days=9)).isoformat()
    await database.execute(update(H).where(H.c.day == changed).values(first_response_s=H.c.first_response_s * 3))
    async with database.transaction() as tx:
        await durations.refresh(tx, [changed])
    incremental = await _contents(database)
    async with database.transaction() as tx:
        await durations.refresh(tx, None)
    assert incremental == await _contents(database)


HISTOGRAM_TABLES = (analytics_daily_durations, analytics_daily_duration_groups, analytics_daily_p90)


async def _contents(db: Database, tables: Sequence[Table] = HISTOGRAM_TABLES) -> dict[str, list[tuple[object, ...]]]:
    """Every row of `tables` (default: the histograms' own), sorted, floats rounded."""
    out = {}
    for table in tables:
        rows = await db.fetch(text(f"SELECT * FROM {table.name}"))
        out[table.name] = sorted(tuple(round(v, 6) if isinstance(v, float) else v for v in r.values()) for r in rows)
    return out
