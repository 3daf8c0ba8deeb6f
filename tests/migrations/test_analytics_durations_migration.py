"""Revision 0013_analytics_durations on both backends: a database at 0012 with facts keeps every row and gains the
duration histograms, already filled with what the projector's refresh would write; downgrading drops only them."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import insert

from analytics import durations
from analytics.tables import analytics_daily_durations, analytics_daily_p90, analytics_handoffs, analytics_tickets
from backends.sql import Database
from migrations import current_revision, upgrade_database
from tests.analytics.test_durations import _contents
from tests.migrations.conftest import database_at
from tests.migrations.test_staff_alerts_migration import downgrade, snapshot, tables

REVISION = importlib.import_module("migrations.versions.0013_analytics_durations")
HISTOGRAMS = {"analytics_daily_durations", "analytics_daily_p90"}


def handoff_rows(count: int) -> list[dict[str, object]]:
    """`count` handoff facts over 20 days, on two channels and three agents, with durations from seconds to hours."""
    return [
        {
            "id": f"h{i}",
            "conversation_id": f"c{i}",
            "requested_at": 0.0,
            "day": f"2026-11-{1 + i % 20:02d}",
            "channel": ("web", "wechat")[i % 2],
            "agent": f"a{i % 3}",
            "queue_wait_s": 7.0 * i,
            "first_response_s": 30.0 + 97 * i,
            "handle_s": None if i % 4 else 600.0 + i,
        }
        for i in range(count)
    ]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def previous(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with database_at(request.param, tmp_path, REVISION.down_revision) as db:
        await db.execute(insert(analytics_handoffs), handoff_rows(60))
        await db.execute(
            insert(analytics_tickets),
            [
                {"ticket": f"T-{i}", "created_at": 0.0, "day": "2026-11-03", "team": "t1", "resolution_s": 3600.0 * i}
                for i in range(5)
            ],
        )
        yield db


def test_the_revision_follows_the_redis_outage() -> None:
    assert REVISION.revision == "0013_analytics_durations"
    assert REVISION.down_revision == "0012_redis_outage"


async def test_upgrading_fills_the_histograms_from_the_facts_and_downgrading_drops_only_them(
    previous: Database,
) -> None:
    existing = await tables(previous)
    assert not existing & HISTOGRAMS
    before = await snapshot(previous, existing)

    await upgrade_database(previous, REVISION.revision)
    assert await current_revision(previous) == REVISION.revision
    assert await tables(previous) == existing | HISTOGRAMS
    assert await snapshot(previous, existing) == before
    histograms = [analytics_daily_durations, analytics_daily_p90]
    filled = await _contents(previous, histograms)
    assert filled["analytics_daily_durations"] and filled["analytics_daily_p90"]

    await downgrade(previous, REVISION.down_revision)
    assert await tables(previous) == existing
    assert await snapshot(previous, existing) == before

    # What the revision wrote is what the projector's refresh writes (today's refresh needs the later revisions).
    await upgrade_database(previous)
    async with previous.transaction() as tx:
        await durations.refresh(tx, None)
    assert await _contents(previous, histograms) == filled
