"""Revision 0014_analytics_marginals on both backends: a database at 0013 with facts keeps every row, its agents' work
gains the episode's dimensions and the first-in-conversation flag (hand-computed), the tickets' rollup its stopped SLA
clocks, and every rollup, the marginal ones included, is filled with what the projector's refresh would write;
downgrading removes only what it added."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, insert, inspect, select, text

from analytics import rollups
from analytics.tables import (
    MARGINALS,
    OPEN_CLOCK_INDEXES,
    ROLLUPS,
    analytics_agent_work,
    analytics_handoffs,
    analytics_surveys,
    analytics_tickets,
)
from backends.sql import Database
from migrations import current_revision, upgrade_database
from tests.migrations.conftest import database_at
from tests.migrations.test_staff_alerts_migration import downgrade, snapshot, tables

REVISION = importlib.import_module("migrations.versions.0014_analytics_marginals")
ADDED = {table.name for table in MARGINALS.values()}
# The facts table that gains columns (its old ones are compared), and the rollups, recomputed from the facts.
WIDENED = {"analytics_agent_work": "episode_id, agent, conversation_id, day, first_response_s, handle_s, replies"}
DERIVED = {table.name for table in ROLLUPS.values()}
OPEN_CLOCKS = {str(index.name) for index in OPEN_CLOCK_INDEXES}


def _episode(id_: str, conversation: str, at: float, day: str, queue: str, channel: str) -> dict[str, object]:
    return {
        "id": id_,
        "conversation_id": conversation,
        "requested_at": at,
        "day": day,
        "channel": channel,
        "language": "en",
        "queue": queue,
        "priority": "normal",
        "agent": "ann",
        "first_response_s": 60.0,
    }


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def previous(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """At 0013: c1 asked three times (ann answered the first, ann and bob the second, bob the third; the second and
    third requests at the same instant, told apart by id), c2 once (ann); tickets with clocks stopped in time, late
    and still running; surveys."""
    async with database_at(request.param, tmp_path, REVISION.down_revision) as db:
        await db.execute(
            insert(analytics_handoffs),
            [
                _episode("e1", "c1", 100.0, "2026-11-01", "en:general", "web"),
                _episode("e2", "c1", 900.0, "2026-11-02", "en:billing", "web"),
                _episode("e3", "c1", 900.0, "2026-11-02", "en:billing", "web"),
                _episode("f1", "c2", 500.0, "2026-11-01", "en:general", "wechat"),
            ],
        )
        work = [("e1", "ann"), ("e2", "ann"), ("e2", "bob"), ("e3", "bob"), ("f1", "ann")]
        await db.execute(
            text(
                "INSERT INTO analytics_agent_work (episode_id, agent, conversation_id, day, first_response_s, replies)"
                " VALUES (:e, :a, :c, :d, 30.0, 1)"
            ),
            [
                {
                    "e": e,
                    "a": a,
                    "c": "c2" if e == "f1" else "c1",
                    "d": "2026-11-01" if e in ("e1", "f1") else "2026-11-02",
                }
                for e, a in work
            ],
        )
        await db.execute(
            insert(analytics_tickets),
            [
                {
                    "ticket": "T-1",
                    "created_at": 0.0,
                    "day": "2026-11-01",
                    "priority": "urgent",
                    "agent": "ann",
                    "first_response_due": 50.0,
                    "first_response_at": 40.0,
                    "resolution_due": 90.0,
                    "final_resolved_at": 120.0,
                    "resolutions": 1,
                },
                {
                    "ticket": "T-2",
                    "created_at": 0.0,
                    "day": "2026-11-01",
                    "priority": "urgent",
                    "agent": None,
                    "first_response_due": 50.0,
                    "first_response_at": None,  # both clocks still run
                    "resolution_due": 90.0,
                    "final_resolved_at": None,
                    "resolutions": 0,
                },
            ],
        )
        await db.execute(
            insert(analytics_surveys),
            [
                {
                    "survey": "s1",
                    "conversation_id": "c1",
                    "sent_at": 0.0,
                    "day": "2026-11-01",
                    "agent": "ann",
                    "channel": "web",
                    "queue": "en:general",
                    "answered_at": 1.0,
                    "score": 5,
                },
                {
                    "survey": "s2",
                    "conversation_id": "c2",
                    "sent_at": 0.0,
                    "day": "2026-11-01",
                    "agent": "ann",
                    "channel": "wechat",
                    "queue": "en:general",
                    "answered_at": 1.0,
                    "score": 2,
                },
            ],
        )
        yield db


def test_the_revision_follows_the_durations() -> None:
    assert REVISION.revision == "0014_analytics_marginals"
    assert REVISION.down_revision == "0013_analytics_durations"


def _indexes(conn: Connection) -> set[str]:
    return {str(index["name"]) for index in inspect(conn).get_indexes("analytics_tickets")}


async def indexes(db: Database) -> set[str]:
    async with db.migration_connection() as conn:
        return await conn.run_sync(_indexes)


async def _old_columns(db: Database) -> dict[str, list[str]]:
    return {
        name: sorted(str(tuple(r.values())) for r in await db.fetch(text(f"SELECT {columns} FROM {name}")))
        for name, columns in WIDENED.items()
    }


async def _rollups(db: Database) -> dict[str, list[str]]:
    return await snapshot(db, {t.name for t in (*ROLLUPS.values(), *MARGINALS.values())})


async def test_upgrading_fills_the_work_dimensions_and_the_rollups_and_downgrading_removes_them(
    previous: Database,
) -> None:
    existing = await tables(previous)
    assert not existing & ADDED
    kept = existing - set(WIDENED) - DERIVED
    before, old_columns = await snapshot(previous, kept), await _old_columns(previous)

    await upgrade_database(previous, REVISION.revision)
    assert await current_revision(previous) == REVISION.revision
    assert await tables(previous) == existing | ADDED
    assert await snapshot(previous, kept) == before
    assert await _old_columns(previous) == old_columns
    assert await indexes(previous) >= OPEN_CLOCKS
    W = analytics_agent_work
    rows = await previous.fetch(select(W.c.episode_id, W.c.agent, W.c.queue, W.c.channel, W.c.first_in_conversation))
    assert sorted(tuple(r.values()) for r in rows) == [
        ("e1", "ann", "en:general", "web", 1),
        ("e2", "ann", "en:billing", "web", 0),  # ann answered c1 before, in e1
        ("e2", "bob", "en:billing", "web", 1),
        ("e3", "bob", "en:billing", "web", 0),  # same instant as e2, a later id
        ("f1", "ann", "en:general", "wechat", 1),
    ]
    filled = await _rollups(previous)
    assert filled["analytics_marginal_agent_work"] and filled["analytics_marginal_surveys"]
    sla = await previous.fetchrow(text("SELECT fr_met, fr_late, res_met, res_late FROM analytics_daily_tickets"))
    assert sla is not None and dict(sla) == {"fr_met": 1, "fr_late": 0, "res_met": 0, "res_late": 1}
    async with previous.transaction() as tx:
        await rollups.refresh(tx, None)
    assert await _rollups(previous) == filled

    await downgrade(previous, REVISION.down_revision)
    assert await tables(previous) == existing
    assert not await indexes(previous) & OPEN_CLOCKS
    assert await snapshot(previous, kept) == before
    assert await _old_columns(previous) == old_columns
