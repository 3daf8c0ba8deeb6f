"""The daily rollups: each counter's definition over its facts table, and `refresh(tx, days)`, which recomputes the
rollup rows of some business days from the facts in one INSERT … SELECT … GROUP BY per table.

A counter is a per-row expression summed (a flag, or 1): the report sums the same expression over the facts when a
filter the rollups do not carry (queue, agent) forces it to, and the rollup's column otherwise, so both paths
give the same numbers by construction. Must never read the record; the projector calls `refresh` after it replaced
facts, for every day whose facts it touched.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, case, delete, func, insert, literal, select

from analytics.metrics import BUCKETS, SATISFIED_SCORE
from analytics.tables import (
    BUCKET_COUNTERS,
    ROLLUP_DIMENSIONS,
    ROLLUPS,
    analytics_conversations,
    analytics_handoffs,
    analytics_kb,
    analytics_surveys,
    analytics_tickets,
)
from backends.sql import SQL
from intake.models import Category

COMPLAINT = Category.SERVICE_COMPLAINT.value


def flag(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return case((condition, 1), else_=0)


def bucket_condition(column: ColumnElement[Any], label: str) -> ColumnElement[bool]:
    """`column` lies in the distribution bucket `label` (lower bound inclusive, upper exclusive)."""
    _, low, high = next(b for b in BUCKETS if b[0] == label)
    return and_(column >= low, column < high) if high is not None else column >= low


def buckets(column: ColumnElement[Any]) -> dict[str, ColumnElement[Any]]:
    """One 0/1 counter per distribution bucket of `column`."""
    return {name: flag(bucket_condition(column, b[0])) for name, b in zip(BUCKET_COUNTERS, BUCKETS, strict=True)}


@dataclass(frozen=True)
class Rollup:
    """`table` sums `counters` (name → per-row expression over `source`) per day, rollup dimension and `keys`."""

    table: Table
    source: Table
    keys: tuple[str, ...]
    counters: Mapping[str, ColumnElement[Any]]


C, H, T, S, B = analytics_conversations, analytics_handoffs, analytics_tickets, analytics_surveys, analytics_kb
ONE = literal(1)
CONVERSATIONS = Rollup(
    ROLLUPS["conversations"],
    C,
    ("handoff_reason",),
    {"n": ONE, "handed_off": C.c.handed_off, "contained": C.c.contained},
)
HANDOFFS = Rollup(ROLLUPS["handoffs"], H, (), {"n": ONE, "abandoned": H.c.abandoned, **buckets(H.c.first_response_s)})
TICKETS = Rollup(
    ROLLUPS["tickets"],
    T,
    (),
    {
        "n": ONE,
        "resolved": flag(T.c.resolutions > 0),
        "reopened": T.c.reopened,
        "fcr": T.c.fcr,
        "complaints": flag(T.c.category == COMPLAINT),
        **buckets(T.c.resolution_s),
    },
)
SURVEYS = Rollup(
    ROLLUPS["surveys"],
    S,
    (),
    {
        "sent": ONE,
        "answered": flag(S.c.answered_at.is_not(None)),
        "scored": flag(S.c.score.is_not(None)),
        "satisfied": flag(S.c.score >= SATISFIED_SCORE),
    },
)
KB = Rollup(
    ROLLUPS["kb"],
    B,
    (),
    {
        "decisions": flag(B.c.decision.is_not(None)),
        "answer": flag(B.c.decision == "answer"),
        "clarify": flag(B.c.decision == "clarify"),
        "not_found": flag(B.c.decision == "not_found"),
        "feedback": flag(B.c.helpful.is_not(None)),
        "helpful": flag(B.c.helpful == 1),
    },
)
ALL = (CONVERSATIONS, HANDOFFS, TICKETS, SURVEYS, KB)


async def refresh(tx: SQL, days: Collection[str] | None) -> None:
    """Recomputes every rollup's rows of `days` (None: all days) from the facts."""
    for rollup in ALL:
        source, table = rollup.source, rollup.table
        groups = [source.c.day, *(source.c[d] for d in (*ROLLUP_DIMENSIONS, *rollup.keys))]
        sums = [func.sum(expression).label(name) for name, expression in rollup.counters.items()]
        chosen = select(*groups, *sums).group_by(*groups)
        if days is None:
            await tx.execute(delete(table))
        else:
            day_list = sorted(days)
            await tx.execute(delete(table).where(table.c.day.in_(day_list)))
            chosen = chosen.where(source.c.day.in_(day_list))
        names = ["day", *ROLLUP_DIMENSIONS, *rollup.keys, *rollup.counters]
        await tx.execute(insert(table).from_select(names, chosen))


__all__ = [
    "ALL",
    "COMPLAINT",
    "CONVERSATIONS",
    "HANDOFFS",
    "KB",
    "SURVEYS",
    "TICKETS",
    "Rollup",
    "bucket_condition",
    "buckets",
    "flag",
    "refresh",
]
