"""Revision 0015_analytics_duration_groups on both backends: a database at 0014 with facts and their histograms keeps
every row and gains the coarse histograms, already filled with what the projector's refresh would write, and the
histograms' slice index ends with the bucket; downgrading drops only the new table and restores the index."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect

from analytics import durations
from analytics.tables import analytics_handoffs
from backends.sql import Database
from migrations import current_revision, head_revision, upgrade_database
from tests.analytics.test_durations import _contents
from tests.migrations.conftest import database_at
from tests.migrations.test_analytics_durations_migration import handoff_rows
from tests.migrations.test_staff_alerts_migration import downgrade, snapshot, tables

REVISION = importlib.import_module("migrations.versions.0015_analytics_duration_groups")
GROUPS = "analytics_daily_duration_groups"
SLICE = "analytics_daily_durations_slice"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def previous(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """At 0014, with handoff facts that revision 0013 turned into histograms."""
    async with database_at(request.param, tmp_path, "0012_redis_outage") as db:
        await db.execute(insert(analytics_handoffs), handoff_rows(80))
        await upgrade_database(db, REVISION.down_revision)
        yield db


def test_the_revision_follows_the_marginal_rollups_and_is_the_head() -> None:
    assert REVISION.revision == "0015_analytics_duration_groups"
    assert REVISION.down_revision == "0014_analytics_marginals"
    assert head_revision() == REVISION.revision


async def _slice_columns(db: Database) -> list[str]:
    async with db.migration_connection() as conn:
        found = await conn.run_sync(lambda sync: inspect(sync).get_indexes("analytics_daily_durations"))
    (index,) = [i for i in found if i["name"] == SLICE]
    return list(index["column_names"])


async def test_upgrading_fills_the_coarse_histograms_and_downgrading_drops_only_them(previous: Database) -> None:
    existing = await tables(previous)
    assert GROUPS not in existing
    before = await snapshot(previous, existing)
    assert await _slice_columns(previous) == ["dimension", "span", "day", "metric", "value"]

    await upgrade_database(previous, REVISION.revision)
    assert await current_revision(previous) == REVISION.revision
    assert await tables(previous) == existing | {GROUPS}
    assert await snapshot(previous, existing) == before
    assert await _slice_columns(previous) == ["dimension", "span", "day", "metric", "value", "bucket"]
    filled = await _contents(previous)
    assert filled[GROUPS]
    async with previous.transaction() as tx:
        await durations.refresh(tx, None)
    assert await _contents(previous) == filled

    await downgrade(previous, REVISION.down_revision)
    assert await tables(previous) == existing
    assert await _slice_columns(previous) == ["dimension", "span", "day", "metric", "value"]
    assert await snapshot(previous, existing) == before
