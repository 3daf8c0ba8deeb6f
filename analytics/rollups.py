"""The rollups: each counter's definition over its facts table, and `refresh(tx, days)`, which recomputes the rows of
some business days from the facts, one INSERT … SELECT … GROUP BY per table.

Each `Rollup` (a set of counters over one facts table) is kept in up to two tables (`analytics.tables`):
- its **marginal rollup** (`marginal`): per day, slice (the facts with one filter dimension at one value, or every
  fact) and group (one column's values, or none), for each (dimension, per) of its `pairs`. It answers a report with
  no filter or one filter, and the per-agent tables and filter options; a year of one slice and group is at most
  365 rows per value of the group, however many conversations there are;
- its **daily rollup** (`table`): per day and combination of the rollup dimensions (and its `keys`), which answers a
  report with several filters on those dimensions (and the KB lists, whose groups are the texts themselves).
A counter is a per-row expression summed (a flag, or 1): the report sums the same expression over the facts when no
rollup can answer (several filters, one of them queue or agent), and the rollups' columns otherwise, so every path
gives the same numbers by construction. Must never read the record; the projector calls `refresh` after it replaced
facts, for every day whose facts it touched.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Executable,
    Select,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)

from analytics.metrics import BUCKETS, SATISFIED_SCORE
from analytics.tables import (
    ALL,
    BUCKET_COUNTERS,
    FACT_TABLES,
    FILTER_DIMENSIONS,
    MARGINALS,
    ROLLUP_DIMENSIONS,
    ROLLUPS,
)
from backends.sql import SQL
from intake.models import Category

COMPLAINT = Category.SERVICE_COMPLAINT.value
# The filter dimensions the daily rollups lack: the KB lists under one of them read their marginal rollup.
UNROLLED = tuple(d for d in FILTER_DIMENSIONS if d not in ROLLUP_DIMENSIONS)
# A ticket's SLA clocks, by the short name of their counters (`fr_met`, `res_late`, …).
SLA_CLOCKS = {"first_response": "fr", "resolution": "res"}


def literal_text(value: str) -> ColumnElement[str]:
    """A name from this code (never user input) as an SQL string literal: PostgreSQL must know its type in
    INSERT … SELECT and UNION, and sees it as the very expression when grouped."""
    return literal_column(f"'{value}'")


def flag(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return case((condition, 1), else_=0)


def bucket_condition(column: ColumnElement[Any], label: str) -> ColumnElement[bool]:
    """`column` lies in the distribution bucket `label` (lower bound inclusive, upper exclusive)."""
    _, low, high = next(b for b in BUCKETS if b[0] == label)
    return and_(column >= low, column < high) if high is not None else column >= low


def buckets(column: ColumnElement[Any]) -> dict[str, ColumnElement[Any]]:
    """One 0/1 counter per distribution bucket of `column`."""
    return {name: flag(bucket_condition(column, b[0])) for name, b in zip(BUCKET_COUNTERS, BUCKETS, strict=True)}


def sla_clock(table: Table, clock: str) -> tuple[ColumnElement[float], ColumnElement[float]]:
    """(stop, due) of a ticket's `clock` ("first_response" or "resolution") in a table of ticket facts."""
    if clock == "first_response":
        return table.c.first_response_at, table.c.first_response_due
    return table.c.final_resolved_at, table.c.resolution_due


def sla_stopped(table: Table, clock: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """(met, late) of a clock that has stopped, an outcome no later time changes: met when it stopped by its due
    time, late when it stopped after it."""
    stop, due = sla_clock(table, clock)
    return and_(due.is_not(None), stop.is_not(None), stop <= due), and_(due.is_not(None), stop > due)


def sla_overdue(table: Table, clock: str, now: float) -> ColumnElement[bool]:
    """The clock still runs and its due time has passed by `now` (missed, though it has not stopped)."""
    stop, due = sla_clock(table, clock)
    return and_(due.is_not(None), stop.is_(None), due < now)


def pairs(dimensions: Sequence[str], pers: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """Every (dimension, per) of the two lists: the slices and groups a marginal rollup keeps."""
    return tuple(product(dimensions, pers))


@dataclass(frozen=True)
class Rollup:
    """The counters `counters` (name → per-row expression over `source`) of the facts `only` selects (None: every
    one; the others would be rows of zeros), rolled up as `name` in `ROLLUPS` (per day, rollup dimension and `keys`;
    absent for some) and in `MARGINALS` (per day, slice and group, for each (dimension, per) of `pairs`)."""

    name: str
    source: Table
    counters: Mapping[str, ColumnElement[Any]]
    pairs: tuple[tuple[str, str], ...]
    keys: tuple[str, ...] = ()
    only: ColumnElement[bool] | None = None

    @property
    def table(self) -> Table | None:
        """The daily rollup (None: none is kept)."""
        return ROLLUPS.get(self.name)

    @property
    def marginal(self) -> Table:
        return MARGINALS[self.name]

    def statements(self, days: Collection[str] | None) -> list[Executable]:
        """The DELETE and INSERT … SELECT that recompute both tables' rows of `days` (None: all days)."""
        out: list[Executable] = []
        day_list = None if days is None else sorted(days)
        if self.table is not None:
            names = ["day", *ROLLUP_DIMENSIONS, *self.keys, *self.counters]
            out += self._replace(self.table, names, [self._cube(day_list)], day_list)
        chosen = [self._marginal(dimension, per, day_list) for dimension, per in self.pairs]
        names = ["day", "dimension", "value", "per", "item", *self.counters]
        return out + self._replace(self.marginal, names, chosen, day_list)

    def _where(self, day_list: list[str] | None) -> list[ColumnElement[bool]]:
        where = [] if self.only is None else [self.only]
        return where if day_list is None else [*where, self.source.c.day.in_(day_list)]

    def _sums(self) -> list[ColumnElement[Any]]:
        return [func.sum(expression) for expression in self.counters.values()]

    def _cube(self, day_list: list[str] | None) -> Select[Any]:
        groups = [self.source.c.day, *(self.source.c[d] for d in (*ROLLUP_DIMENSIONS, *self.keys))]
        return select(*groups, *self._sums()).where(*self._where(day_list)).group_by(*groups)

    def _marginal(self, dimension: str, per: str, day_list: list[str] | None) -> Select[Any]:
        source, where = self.source, self._where(day_list)
        value = literal_text(ALL) if dimension == ALL else source.c[dimension]
        item = literal_text(ALL) if per == ALL else source.c[per]
        groups: list[ColumnElement[Any]] = [source.c.day]
        for name, column in ((dimension, value), (per, item)):
            if name != ALL:
                where.append(column.is_not(None))  # no filter matches an unknown value, no list shows one
                groups.append(column)
        chosen = select(source.c.day, literal_text(dimension), value, literal_text(per), item, *self._sums())
        return chosen.where(*where).group_by(*groups)

    @staticmethod
    def _replace(
        table: Table, names: list[str], chosen: list[Select[Any]], day_list: list[str] | None
    ) -> list[Executable]:
        statement: Select[Any] | CompoundSelect[Any] = chosen[0] if len(chosen) == 1 else union_all(*chosen)
        cleared = delete(table) if day_list is None else delete(table).where(table.c.day.in_(day_list))
        return [cleared, insert(table).from_select(names, statement)]


C, H, W, T, S, B = FACT_TABLES
ONE = literal(1)
# The slices a marginal rollup keeps: every fact's, and every filter dimension's (a report with at most one filter).
EVERY = (ALL, *FILTER_DIMENSIONS)
CONVERSATIONS = Rollup(
    "conversations",
    C,
    {"n": ONE, "handed_off": C.c.handed_off, "contained": C.c.contained},
    pairs(EVERY, (ALL, "channel", "language", "handoff_reason", "team")),
    keys=("handoff_reason",),
)
HANDOFFS = Rollup(
    "handoffs",
    H,
    {"n": ONE, "abandoned": H.c.abandoned, **buckets(H.c.first_response_s)},
    pairs(EVERY, (ALL,)) + pairs((ALL,), ("queue", "priority")),  # the filter options: a range's queues, priorities
)
TICKETS = Rollup(
    "tickets",
    T,
    {
        "n": ONE,
        "resolved": flag(T.c.resolutions > 0),
        "reopened": T.c.reopened,
        "fcr": T.c.fcr,
        "complaints": flag(T.c.category == COMPLAINT),
        **buckets(T.c.resolution_s),
        **{
            f"{short}_{outcome}": flag(condition)
            for clock, short in SLA_CLOCKS.items()
            for outcome, condition in zip(("met", "late"), sla_stopped(T, clock), strict=True)
        },
    },
    pairs(EVERY, (ALL, "category", "team", "priority")),
)
SURVEYS = Rollup(
    "surveys",
    S,
    {
        "sent": ONE,
        "answered": flag(S.c.answered_at.is_not(None)),
        "scored": flag(S.c.score.is_not(None)),
        "satisfied": flag(S.c.score >= SATISFIED_SCORE),
    },
    pairs(EVERY, (ALL, "team", "agent")),
)
KB = Rollup(
    "kb",
    B,
    {
        "decisions": flag(B.c.decision.is_not(None)),
        "answer": flag(B.c.decision == "answer"),
        "clarify": flag(B.c.decision == "clarify"),
        "not_found": flag(B.c.decision == "not_found"),
        "feedback": flag(B.c.helpful.is_not(None)),
        "helpful": flag(B.c.helpful == 1),
    },
    pairs(EVERY, (ALL,)),
)
KB_TERMS = Rollup(
    "kb_terms",
    B,
    {"not_found": flag(B.c.decision == "not_found"), "unhelpful": flag(B.c.helpful == 0)},
    pairs(UNROLLED, ("query", "entry")),
    keys=("query", "entry"),
    only=or_(B.c.decision == "not_found", B.c.helpful == 0),
)
# Agents' work: each (episode, agent) row, and the agent's conversations, each counted on the day of the agent's
# first episode in it.
AGENT_WORK = Rollup(
    "agent_work",
    W,
    {"episodes": ONE, "conversations": W.c.first_in_conversation},
    pairs(EVERY, ("agent",)),
)
ALL_ROLLUPS = (CONVERSATIONS, HANDOFFS, TICKETS, SURVEYS, KB, KB_TERMS, AGENT_WORK)


async def refresh(tx: SQL, days: Collection[str] | None) -> None:
    """Recomputes every rollup's rows of `days` (None: all days) from the facts."""
    for rollup in ALL_ROLLUPS:
        for statement in rollup.statements(days):
            await tx.execute(statement)


__all__ = [
    "AGENT_WORK",
    "ALL_ROLLUPS",
    "COMPLAINT",
    "CONVERSATIONS",
    "EVERY",
    "HANDOFFS",
    "KB",
    "KB_TERMS",
    "SLA_CLOCKS",
    "SURVEYS",
    "TICKETS",
    "UNROLLED",
    "Rollup",
    "bucket_condition",
    "buckets",
    "flag",
    "literal_text",
    "pairs",
    "refresh",
    "sla_clock",
    "sla_overdue",
    "sla_stopped",
]
