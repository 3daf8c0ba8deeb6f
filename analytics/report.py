"""The dashboard's report: `build_report(db, query, names, policy, now)` → the JSON of the spec's
`GET /api/v1/analytics/report`, computed from the facts tables only.

Each facts table's counters are read once over the current and the previous period together, grouped by business
day, and the period totals are sums of those days, so the cards and the daily series cannot disagree; every count and
list is read where `_sums` finds it (`analytics.rollups`): the marginal rollups for a report with no filter or one
(a year is at most 365 rows per listed value, whatever the volume), the daily rollups for several filters on their
dimensions, else the facts themselves. Percentiles come from the duration histograms (`analytics.durations`) or
exactly from the facts (`analytics.percentiles`). The SLA clocks still running are the one part read from the facts
on every report (the partial indexes of open tickets): whether they have missed depends on `now`. Definitions:
`analytics.metrics` and docs/metrics.md. Must never read live state or the clock (`now` decides only whether an
unanswered clock has already missed its due time).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Table, case, func, literal_column, or_, select, union, union_all

from analytics import rollups
from analytics.annotations import in_range
from analytics.durations import METRICS, HPct, histogram_percentiles, sliceable
from analytics.metrics import BUCKET_LABELS, KPIS
from analytics.percentiles import N_SUFFIX, Pct, percentiles
from analytics.query import ReportQuery
from analytics.rollups import SLA_CLOCKS, Rollup, literal_text, sla_overdue, sla_stopped
from analytics.tables import (
    ALL,
    BUCKET_COUNTERS,
    ROLLUP_DIMENSIONS,
    SLA_COUNTERS,
    analytics_agent_work,
    analytics_daily_p90,
    analytics_handoffs,
    analytics_tickets,
)
from analytics.targets import all_targets, applicable, with_targets
from backends.sql import SQL
from intake.models import Priority
from intake.sla import SlaMetric, SlaPolicy

H, W, T, P = analytics_handoffs, analytics_agent_work, analytics_tickets, analytics_daily_p90
TOP = 10
CLOCKS = {"first_response": SlaMetric.FIRST_RESPONSE, "resolution": SlaMetric.RESOLUTION}

Totals = dict[str, float]


@dataclass(frozen=True)
class Names:
    """What the report shows beside ids: team names, agents' display names, and a look-up of FAQ entries' titles
    (id → title) for the entries it lists."""

    teams: Mapping[str, str] = field(default_factory=dict)
    agents: Mapping[str, str] = field(default_factory=dict)
    entry_titles: Callable[[Sequence[str]], Awaitable[Mapping[str, str]]] | None = None


def ratio(part: float, whole: float) -> float | None:
    return None if not whole else part / whole


def sla_met(table: Table, clock: str, now: float) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """(met, missed) conditions of a ticket's `clock` ("first_response" or "resolution"): met when it stopped by its
    due time, missed when it stopped later or is still running past it; neither while it runs within it."""
    met, late = sla_stopped(table, clock)
    return met, or_(late, sla_overdue(table, clock, now))


class _Days:
    """A table's per-day sums over the current and previous periods; `totals(q)` adds up one period's days."""

    def __init__(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self.by_day: dict[str, Totals] = {
            r["day"]: {k: float(v or 0) for k, v in r.items() if k != "day"} for r in rows
        }

    def totals(self, query: ReportQuery) -> Totals:
        out: Totals = defaultdict(float)
        for day in query.day_list():
            for name, value in self.by_day.get(day, {}).items():
                out[name] += value
        return out

    def series(self, query: ReportQuery, name: str) -> list[float]:
        return [self.by_day.get(day, {}).get(name, 0.0) for day in query.day_list()]


def rolled(query: ReportQuery) -> bool:
    """Whether the daily rollups can answer `query`: its filters are all on their dimensions."""
    return set(query.filters) <= set(ROLLUP_DIMENSIONS)


def sliced(query: ReportQuery) -> tuple[str, str] | None:
    """The marginal rollups' slice that answers `query`: (ALL, ALL) without filters, (dimension, value) with one,
    None with more."""
    if len(query.filters) > 1:
        return None
    return next(iter(query.filters.items()), (ALL, ALL))


@dataclass(frozen=True)
class _Sums:
    """Where a query's counters are summed: `table`, its rows `where`, each counter's sum, and the column whose
    values group them (`per`; None when not grouped)."""

    table: Table
    where: list[ColumnElement[bool]]
    sums: Mapping[str, ColumnElement[Any]]
    per: ColumnElement[Any] | None

    @property
    def key(self) -> ColumnElement[Any]:
        """The grouping column; ValueError when the sums are not per value of a column."""
        if self.per is None:
            raise ValueError("not grouped")
        return self.per


def _sums(rollup: Rollup, query: ReportQuery, names: Sequence[str], per: str = ALL) -> _Sums:
    """Where to sum `rollup`'s counters `names` for `query` (per value of the column `per`, when given): its marginal
    rollup when that keeps the query's slice per `per` (no filter or one), else its daily rollup when that carries
    the filters and `per`, else the same per-row expressions over the facts."""
    cube, marginal, source = rollup.table, rollup.marginal, rollup.source
    slice_ = sliced(query)
    if slice_ is not None and (slice_[0], per) in rollup.pairs:
        dimension, value = slice_
        where = [
            *query.where(marginal, skip=query.filters),  # the range
            marginal.c.dimension == dimension,
            marginal.c.value == value,
            marginal.c.per == per,
        ]
        sums = {n: func.sum(marginal.c[n]) for n in names}
        return _Sums(marginal, where, sums, None if per == ALL else marginal.c.item)
    if cube is not None and rolled(query) and (per == ALL or per in cube.c):
        return _Sums(cube, query.where(cube), {n: func.sum(cube.c[n]) for n in names}, _column(cube, per))
    sums = {n: func.sum(rollup.counters[n]) for n in names}
    return _Sums(source, query.where(source), sums, _column(source, per))


def _column(table: Table, per: str) -> ColumnElement[Any] | None:
    return None if per == ALL else table.c[per]


async def _by_day(db: SQL, rollup: Rollup, query: ReportQuery) -> _Days:
    """Every counter of `rollup` per day, over the current and the previous period."""
    s = _sums(rollup, _both(query), list(rollup.counters))
    statement = select(s.table.c.day, *(c.label(n) for n, c in s.sums.items())).where(*s.where)
    return _Days(await db.fetch(statement.group_by(s.table.c.day)))


def _both(query: ReportQuery) -> ReportQuery:
    """The previous and the current period together (one statement reads both; `_period` tells them apart)."""
    return ReportQuery(query.previous.start, query.end, query.tz, query.filters)


def _period(table: Table, query: ReportQuery) -> ColumnElement[Any]:
    """ "cur" or "prev": which period a row's day is in. Literal SQL (a validated date), not bound parameters, so
    PostgreSQL sees the GROUP BY expression as the very one selected."""
    start: ColumnElement[str] = literal_column(f"'{query.start.isoformat()}'")
    return case((table.c.day >= start, literal_column("'cur'")), else_=literal_column("'prev'"))


async def _grouped(
    db: SQL, rollup: Rollup, query: ReportQuery, per: str, names: Sequence[str]
) -> list[Mapping[str, Any]]:
    """Rows {"key": a value of the column `per`, each of `names`: its sum} of `rollup`'s counters in the range, one
    per known value (NULL left out)."""
    s = _sums(rollup, query, names, per)
    statement = select(s.key.label("key"), *(c.label(n) for n, c in s.sums.items()))
    return await db.fetch(statement.where(*s.where, s.key.is_not(None)).group_by(s.key))


async def _grouped_sums(
    db: SQL, rollup: Rollup, query: ReportQuery, column: str, counter: str = "n", limit: int | None = None
) -> list[dict[str, Any]]:
    """[{key, count}] of `rollup`'s `counter` per value of `column` in the range, largest first (zeros left out;
    the first `limit` when given)."""
    s = _sums(rollup, query, [counter], column)
    total = s.sums[counter]
    statement = (
        select(s.key.label("key"), total.label("count"))
        .where(*s.where, s.key.is_not(None))
        .group_by(s.key)
        .having(total > 0)
        .order_by(total.desc(), s.key)
        .limit(limit)
    )
    return [{"key": r["key"], "count": int(r["count"])} for r in await db.fetch(statement)]


def _sla_totals(tickets: Totals, overdue: Totals) -> Totals:
    """A period's decided SLA clocks: met (stopped in time) and missed (stopped late, or overdue at `now`)."""
    out: Totals = {}
    for short in SLA_CLOCKS.values():
        out[f"{short}_met"] = tickets.get(f"{short}_met", 0.0)
        out[f"{short}_missed"] = tickets.get(f"{short}_late", 0.0) + overdue.get(short, 0.0)
    return out


class _Report:
    def __init__(self, db: SQL, query: ReportQuery, names: Names, policy: SlaPolicy, now: float) -> None:
        self.db, self.q, self.names, self.policy, self.now = db, query, names, policy, now

    async def build(self) -> dict[str, Any]:
        q = self.q
        # Every query at once: PostgreSQL runs them on the pool's connections side by side.
        run = asyncio.create_task
        conversations_t = run(_by_day(self.db, rollups.CONVERSATIONS, q))
        handoffs_t = run(_by_day(self.db, rollups.HANDOFFS, q))
        tickets_t = run(_by_day(self.db, rollups.TICKETS, q))
        surveys_t, kb_t = run(_by_day(self.db, rollups.SURVEYS, q)), run(_by_day(self.db, rollups.KB, q))
        pcts_t = run(self._percentiles())
        daily_t = run(self._daily_p90())
        sla_t, distributions_t, mix_t = run(self._sla()), run(self._distributions()), run(self._mix())
        agents_t, teams_t, kb_lists_t, options_t = (
            run(self._agents()),
            run(self._teams()),
            run(self._kb_lists()),
            run(self._options()),
        )
        conversations, handoffs, tickets = await conversations_t, await handoffs_t, await tickets_t
        surveys, kb, pcts, daily_p90, sla = await surveys_t, await kb_t, await pcts_t, await daily_t, await sla_t
        cur: dict[str, Totals] = {}
        prev: dict[str, Totals] = {}
        for name, days in (("c", conversations), ("h", handoffs), ("t", tickets), ("s", surveys), ("b", kb)):
            cur[name], prev[name] = days.totals(q), days.totals(q.previous)
        cur["sla"] = _sla_totals(cur["t"], sla["overdue"]["cur"])
        prev["sla"] = _sla_totals(prev["t"], sla["overdue"]["prev"])
        values = self._kpis(cur, pcts.get("cur", {}))
        previous = self._kpis(prev, pcts.get("prev", {}))
        by_key = {k.key: k for k in KPIS}
        kpis = [
            {
                "key": key,
                "value": value,
                "previous": previous[key][0],
                "unit": by_key[key].unit,
                "better": by_key[key].better,
                "n": n,
            }
            for key, (value, n) in values.items()
        ]
        scored = surveys.series(q, "scored")
        return {
            **q.describe(),
            "options": await options_t,
            "kpis": kpis,
            "series": {
                "days": q.day_list(),
                "conversations": [int(v) for v in conversations.series(q, "n")],
                "handoffs": [int(v) for v in conversations.series(q, "handed_off")],
                "containment": [
                    ratio(c, n)
                    for c, n in zip(conversations.series(q, "contained"), conversations.series(q, "n"), strict=True)
                ],
                "tickets": [int(v) for v in tickets.series(q, "n")],
                "csat": [ratio(s, n) for s, n in zip(surveys.series(q, "satisfied"), scored, strict=True)],
                "first_response_p90": [daily_p90.get(day, {}).get("p90") for day in q.day_list()],
            },
            "distributions": {"buckets": list(BUCKET_LABELS), **(await distributions_t)},
            "sla": sla["rows"],
            "mix": await mix_t,
            "agents": await agents_t,
            "teams": await teams_t,
            "kb": {**self._kb_rates(cur["b"]), **(await kb_lists_t)},
            "annotations": [],
        }

    # -- KPIs ------------------------------------------------------------------------------------------------------

    def _kpis(self, t: Mapping[str, Totals], p: Mapping[str, float | None]) -> dict[str, tuple[Any, int]]:
        c, h, tk, s, b, sla = t["c"], t["h"], t["t"], t["s"], t["b"], t["sla"]
        fr_decided = sla["fr_met"] + sla["fr_missed"]
        res_decided = sla["res_met"] + sla["res_missed"]
        resolved = tk.get("resolved", 0.0)
        out: dict[str, tuple[Any, int]] = {
            "conversations": (int(c.get("n", 0)), int(c.get("n", 0))),
            "containment": (ratio(c.get("contained", 0), c.get("n", 0)), int(c.get("n", 0))),
            "handoff_rate": (ratio(c.get("handed_off", 0), c.get("n", 0)), int(c.get("n", 0))),
            "abandonment_rate": (ratio(h.get("abandoned", 0), h.get("n", 0)), int(h.get("n", 0))),
        }
        for key in ("queue_wait_p50", "queue_wait_p90", "first_response_p50", "first_response_p90"):
            out[key] = (p.get(key), int(p.get(f"{key}{N_SUFFIX}") or 0))
        for key in ("first_response_bh_p90", "next_reply_p50", "handle_p50"):
            out[key] = (p.get(key), int(p.get(f"{key}{N_SUFFIX}") or 0))
        out["tickets"] = (int(tk.get("n", 0)), int(tk.get("n", 0)))
        for key in ("resolution_p50", "resolution_p90"):
            out[key] = (p.get(key), int(p.get(f"{key}{N_SUFFIX}") or 0))
        out["sla_first_response"] = (ratio(sla["fr_met"], fr_decided), int(fr_decided))
        out["sla_resolution"] = (ratio(sla["res_met"], res_decided), int(res_decided))
        out["reopen_rate"] = (ratio(tk.get("reopened", 0), resolved), int(resolved))
        out["fcr"] = (ratio(tk.get("fcr", 0), resolved), int(resolved))
        out["csat"] = (ratio(s.get("satisfied", 0), s.get("scored", 0)), int(s.get("scored", 0)))
        out["survey_response_rate"] = (ratio(s.get("answered", 0), s.get("sent", 0)), int(s.get("sent", 0)))
        complaints = ratio(tk.get("complaints", 0) * 1000.0, c.get("n", 0))
        out["complaint_rate"] = (complaints, int(c.get("n", 0)))
        out["kb_answer_rate"] = (ratio(b.get("answer", 0), b.get("decisions", 0)), int(b.get("decisions", 0)))
        out["kb_helpful_rate"] = (ratio(b.get("helpful", 0), b.get("feedback", 0)), int(b.get("feedback", 0)))
        return {k.key: out[k.key] for k in KPIS}

    @staticmethod
    def _kb_rates(b: Totals) -> dict[str, float | None]:
        decisions = b.get("decisions", 0)
        return {
            "answer_rate": ratio(b.get("answer", 0), decisions),
            "clarify_rate": ratio(b.get("clarify", 0), decisions),
            "not_found_rate": ratio(b.get("not_found", 0), decisions),
            "helpful_rate": ratio(b.get("helpful", 0), b.get("feedback", 0)),
        }

    async def _percentiles(self) -> dict[Any, dict[str, float | None]]:
        """The KPIs' percentiles of both periods ("cur", "prev"): from the duration histograms when they hold the
        query's slice (`analytics.durations`), else exactly from the facts."""
        q = self.q
        handoffs = [
            ("queue_wait_p50", "queue_wait_s", 0.5),
            ("queue_wait_p90", "queue_wait_s", 0.9),
            ("first_response_p50", "first_response_s", 0.5),
            ("first_response_p90", "first_response_s", 0.9),
            ("first_response_bh_p90", "first_response_bh_s", 0.9),
            ("next_reply_p50", "next_reply_s", 0.5),
            ("handle_p50", "handle_s", 0.5),
        ]
        tickets = [("resolution_p50", "resolution_s", 0.5), ("resolution_p90", "resolution_s", 0.9)]
        if sliceable(q.filters):
            specs = [HPct(name, metric, fraction) for name, metric, fraction in (*handoffs, *tickets)]
            periods = {"cur": (q.start, q.end), "prev": (q.previous.start, q.previous.end)}
            return await histogram_percentiles(self.db, specs, periods, filters=q.filters)
        h_specs = [Pct(name, H.c[column], fraction) for name, column, fraction in handoffs]
        t_specs = [Pct(name, T.c[column], fraction) for name, column, fraction in tickets]
        h, h_prev, t, t_prev = await asyncio.gather(
            percentiles(self.db, h_specs, q.where(H)),
            percentiles(self.db, h_specs, q.previous.where(H)),
            percentiles(self.db, t_specs, q.where(T)),
            percentiles(self.db, t_specs, q.previous.where(T)),
        )
        return {"cur": {**h[None], **t[None]}, "prev": {**h_prev[None], **t_prev[None]}}

    async def _daily_p90(self) -> dict[Any, dict[str, float | None]]:
        """Each day's first response p90 ({day: {"p90": seconds}}), exact: kept per day and slice by the projector
        (`analytics_daily_p90`), or from the facts when the filters are not a slice."""
        q = self.q
        if sliceable(q.filters):
            (dimension, value), *_ = [*q.filters.items(), (ALL, ALL)]
            days = [P.c.day >= q.start.isoformat(), P.c.day <= q.end.isoformat()]
            slice_ = [P.c.dimension == dimension, P.c.value == value, P.c.metric == "first_response_s"]
            rows = await self.db.fetch(select(P.c.day, P.c.p90).where(*slice_, *days))
            return {r["day"]: {"p90": float(r["p90"])} for r in rows}
        return await percentiles(self.db, [Pct("p90", H.c.first_response_s, 0.9)], q.where(H), H.c.day)

    async def _sla(self) -> dict[str, Any]:
        """The SLA table's rows (current period, per priority) and the clocks overdue at `now` per period ("cur",
        "prev": {"fr": n, "res": n}). Stopped clocks come from the tickets' rollups (their outcome is fixed); only the
        clocks still running are read from the facts, through the partial indexes that hold just those tickets."""
        q, both = self.q, _both(self.q)
        overdue = union_all(
            *(
                select(
                    literal_text(short).label("clock"), _period(T, q).label("g"), T.c.priority, func.count().label("n")
                )
                .where(*both.where(T), sla_overdue(T, clock, self.now))
                .group_by(_period(T, q), T.c.priority)
                for clock, short in SLA_CLOCKS.items()
            )
        )
        stopped, running = await asyncio.gather(
            _grouped(self.db, rollups.TICKETS, q, "priority", ["n", *SLA_COUNTERS]), self.db.fetch(overdue)
        )
        totals: dict[str, Totals] = {"cur": defaultdict(float), "prev": defaultdict(float)}
        late_now: dict[tuple[str, str], int] = {}
        for row in running:
            totals[row["g"]][row["clock"]] += float(row["n"])
            if row["g"] == "cur" and row["priority"] is not None:
                late_now[(row["priority"], row["clock"])] = int(row["n"])
        by_priority = {row["key"]: row for row in stopped if row["n"]}
        order = [p.value for p in Priority] + sorted(set(by_priority) - {p.value for p in Priority})
        sla_rows = []
        for priority in order:
            if priority not in by_priority:
                continue
            row = by_priority[priority]
            for clock, metric in CLOCKS.items():
                short = SLA_CLOCKS[clock]
                met_n = int(row[f"{short}_met"] or 0)
                missed_n = int(row[f"{short}_late"] or 0) + late_now.get((priority, short), 0)
                sla_rows.append(
                    {
                        "priority": priority,
                        "clock": clock,
                        "target_s": self.policy.target_s(priority, metric),
                        "met": met_n,
                        "missed": missed_n,
                        "rate": ratio(met_n, met_n + missed_n),
                    }
                )
        return {"overdue": totals, "rows": sla_rows}

    async def _distributions(self) -> dict[str, list[int]]:
        async def buckets(rollup: Rollup) -> list[int]:
            s = _sums(rollup, self.q, BUCKET_COUNTERS)
            row = await self.db.fetchrow(select(*(c.label(n) for n, c in s.sums.items())).where(*s.where))
            return [int((row or {}).get(name) or 0) for name in BUCKET_COUNTERS]

        first_response, resolution = await asyncio.gather(buckets(rollups.HANDOFFS), buckets(rollups.TICKETS))
        return {"first_response": first_response, "resolution": resolution}

    async def _mix(self) -> dict[str, list[dict[str, Any]]]:
        categories, channels, languages, reasons = await asyncio.gather(
            _grouped_sums(self.db, rollups.TICKETS, self.q, "category"),
            _grouped_sums(self.db, rollups.CONVERSATIONS, self.q, "channel"),
            _grouped_sums(self.db, rollups.CONVERSATIONS, self.q, "language"),
            _grouped_sums(self.db, rollups.CONVERSATIONS, self.q, "handoff_reason", "handed_off"),
        )
        return {"categories": categories, "channels": channels, "languages": languages, "handoff_reasons": reasons}

    # -- people ----------------------------------------------------------------------------------------------------

    async def _people_p50(
        self,
        wanted: Sequence[tuple[str, str]],
        dimension: str,
        exact: Callable[[list[Pct]], Awaitable[dict[Any, dict[str, float | None]]]],
    ) -> dict[Any, dict[str, float | None]]:
        """Medians (name, histogram metric) per value of `dimension` (agent or team): from the histograms' slices of
        that dimension on an unfiltered report or one filtered by that dimension alone (its one row), else
        `exact(specs)` over the facts."""
        specs = [HPct(name, metric, 0.5) for name, metric in wanted]
        period = {"cur": (self.q.start, self.q.end)}
        if not self.q.filters:
            return await histogram_percentiles(self.db, specs, period, per_value=dimension)
        if set(self.q.filters) == {dimension}:
            found = await histogram_percentiles(self.db, specs, period, filters=self.q.filters)
            return {self.q.filters[dimension]: found["cur"]}
        metrics = {m.name: m for m in METRICS}
        return await exact([Pct(name, metrics[m].source.c[metrics[m].column], 0.5) for name, m in wanted])

    async def _csat_by(self, dimension: str) -> dict[Any, tuple[float | None, int]]:
        """CSAT and its number of scores per value of `dimension` ("agent" or "team"), from the surveys' rollups
        when they keep that grouping under the filters, else from the facts (the same counters)."""
        rows = await _grouped(self.db, rollups.SURVEYS, self.q, dimension, ["satisfied", "scored"])
        return {
            r["key"]: (ratio(float(r["satisfied"] or 0), float(r["scored"] or 0)), int(r["scored"] or 0)) for r in rows
        }

    async def _agents(self) -> list[dict[str, Any]]:
        """Every agent who answered in an episode of the range, with their conversations (each counted on the day of
        the agent's first episode in it, so once however many episodes it took), medians and CSAT."""
        work, pcts, csat = await asyncio.gather(
            _grouped(self.db, rollups.AGENT_WORK, self.q, "agent", ["episodes", "conversations"]),
            self._people_p50(
                [("first_response_p50", "agent_first_response_s"), ("handle_p50", "agent_handle_s")],
                "agent",
                lambda specs: percentiles(self.db, specs, self.q.where(W), W.c.agent),
            ),
            self._csat_by("agent"),
        )
        rows = []
        counted = [(r["key"], int(r["conversations"] or 0)) for r in work if r["episodes"]]
        for agent, conversations in sorted(counted, key=lambda r: (-r[1], r[0])):
            score, n = csat.get(agent, (None, 0))
            rows.append(
                {
                    "agent": agent,
                    "display_name": self.names.agents.get(agent, agent),
                    "conversations": conversations,
                    "first_response_p50": pcts.get(agent, {}).get("first_response_p50"),
                    "handle_p50": pcts.get(agent, {}).get("handle_p50"),
                    "csat": score,
                    "csat_n": n,
                }
            )
        return rows

    async def _teams(self) -> list[dict[str, Any]]:
        tickets, conversations, pcts, csat = await asyncio.gather(
            _grouped_sums(self.db, rollups.TICKETS, self.q, "team"),
            _grouped_sums(self.db, rollups.CONVERSATIONS, self.q, "team"),
            self._people_p50(
                [("first_response_p50", "ticket_first_response_s"), ("resolution_p50", "resolution_s")],
                "team",
                lambda specs: percentiles(self.db, specs, self.q.where(T), T.c.team),
            ),
            self._csat_by("team"),
        )
        ticket_n = {r["key"]: r["count"] for r in tickets}
        conversation_n = {r["key"]: r["count"] for r in conversations}
        seen = {t for t in (*ticket_n, *conversation_n) if t is not None}
        wanted = self.q.filters.get("team")
        ids = sorted((set(self.names.teams) | seen) if wanted is None else {wanted})
        rows = []
        for team in ids:
            score, n = csat.get(team, (None, 0))
            rows.append(
                {
                    "team": team,
                    "name": self.names.teams.get(team, team),
                    "conversations": conversation_n.get(team, 0),
                    "tickets": ticket_n.get(team, 0),
                    "first_response_p50": pcts.get(team, {}).get("first_response_p50"),
                    "resolution_p50": pcts.get(team, {}).get("resolution_p50"),
                    "csat": score,
                    "csat_n": n,
                }
            )
        return rows

    # -- KB lists and options ----------------------------------------------------------------------------------------

    async def _kb_lists(self) -> dict[str, list[dict[str, Any]]]:
        not_found, unhelpful = await asyncio.gather(
            _grouped_sums(self.db, rollups.KB_TERMS, self.q, "query", "not_found", limit=TOP),
            _grouped_sums(self.db, rollups.KB_TERMS, self.q, "entry", "unhelpful", limit=TOP),
        )
        lookup = self.names.entry_titles
        titles = await lookup([r["key"] for r in unhelpful]) if lookup is not None and unhelpful else {}
        return {
            "not_found_top": [{"query": r["key"], "count": r["count"]} for r in not_found],
            "unhelpful_entries": [
                {"entry": r["key"], "title": titles.get(r["key"]), "count": r["count"]} for r in unhelpful
            ],
        }

    async def _options(self) -> dict[str, Any]:
        """The filter choices: what occurs in the range (whatever the filters), plus every team and agent named.
        Read from the marginal rollups' groups of every fact: at most a row per day and value."""
        unfiltered = ReportQuery(self.q.start, self.q.end, self.q.tz)
        sources: dict[str, list[tuple[Rollup, str]]] = {
            "channel": [(rollups.CONVERSATIONS, "channel")],
            "language": [(rollups.CONVERSATIONS, "language")],
            "queue": [(rollups.HANDOFFS, "queue")],
            "category": [(rollups.TICKETS, "category")],
            "priority": [(rollups.HANDOFFS, "priority"), (rollups.TICKETS, "priority")],
            "agent": [(rollups.AGENT_WORK, "agent")],
            "team": [(rollups.TICKETS, "team")],  # every team that has a ticket
        }
        parts = [(name, _sums(rollup, unfiltered, [], per)) for name, ps in sources.items() for rollup, per in ps]
        # One round trip: the distinct values of every part, tagged with the option they are for (a name from this
        # code, written as an SQL literal so that PostgreSQL knows its type in the UNION).
        statement = union(
            *(
                select(literal_text(name).label("k"), s.key.label("v"))
                .where(*s.where, s.key.is_not(None))
                .distinct()  # each part's few values first: the UNION then dedups dozens of rows, not a year's
                for name, s in parts
            )
        )
        found: dict[str, set[str]] = {name: set() for name in sources}
        for row in await self.db.fetch(statement):
            found[row["k"]].add(str(row["v"]))
        priorities, agents, teams = found["priority"], found["agent"], found["team"]
        known = [p.value for p in Priority]
        return {
            "channels": sorted(found["channel"]),
            "languages": sorted(found["language"]),
            "teams": [{"id": t, "name": self.names.teams.get(t, t)} for t in sorted(teams | set(self.names.teams))],
            "queues": sorted(found["queue"]),
            "categories": sorted(found["category"]),
            "priorities": [p for p in known if p in priorities] + sorted(priorities - set(known)),
            "agents": [
                {"username": a, "display_name": self.names.agents.get(a, a)}
                for a in sorted(agents | set(self.names.agents))
            ],
        }


async def build_report(db: SQL, query: ReportQuery, names: Names, policy: SlaPolicy, now: float) -> dict[str, Any]:
    """The report JSON for `query` (see the module docstring), its KPIs marked with the targets that apply
    (`analytics.targets`) and the annotations of its days (`analytics.annotations`)."""
    report = await _Report(db, query, names, policy, now).build()
    targets = applicable(await all_targets(db), query.filters)
    return {**report, "kpis": with_targets(report["kpis"], targets), "annotations": await in_range(db, query)}


__all__ = ["Names", "build_report", "ratio", "rolled", "sla_met"]
