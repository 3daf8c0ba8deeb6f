"""Revision 0008_analytics_facts on both backends: a database of the previous revision with months of record upgrades
with every row intact and gains empty facts tables, which the projector then fills from the record it already had;
downgrading drops only the facts."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from analytics.facts import Clocks
from analytics.projector import Projector
from analytics.tables import FACT_TABLES, ROLLUPS, analytics_conversations
from backends.sql import Database
from intake.calendar import BusinessCalendar
from migrations import current_revision, upgrade_database
from record import CUSTOMER, ServiceEvent, ServiceEventKind, SQLServiceRecord
from tests.migrations.conftest import database_at
from tests.migrations.test_staff_alerts_migration import downgrade, snapshot, tables

REVISION = importlib.import_module("migrations.versions.0008_analytics_facts")
LAST_ANALYTICS_REVISION = "0010_analytics_targets"
FACTS = {table.name for table in (*FACT_TABLES, *ROLLUPS.values())} | {"analytics_state"}
DAY_S = 86400.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def previous(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database at the revision before, with the old tables' rows and 90 days of record."""
    async with database_at(request.param, tmp_path, REVISION.down_revision) as db:
        await SQLServiceRecord(db).append(
            [
                ServiceEvent(
                    kind=ServiceEventKind.CONVERSATION_OPENED,
                    at=1_764_000_000.0 + n * DAY_S,
                    actor=CUSTOMER,
                    conversation_id=f"c{n}",
                    customer_id=f"u{n}",
                    channel="web",
                )
                for n in range(90)
            ]
        )
        yield db


def test_the_revision_follows_the_service_record() -> None:
    assert REVISION.revision == "0008_analytics_facts"
    assert REVISION.down_revision == "0007_service_record"


async def test_upgrading_keeps_every_row_and_the_projector_fills_the_facts_from_the_old_record(
    previous: Database,
) -> None:
    existing = await tables(previous)
    assert not existing & FACTS
    before = await snapshot(previous, existing)

    # Through the analytics revisions of that time (0008–0010): every row kept, only analytics tables added.
    await upgrade_database(previous, LAST_ANALYTICS_REVISION)
    assert await current_revision(previous) == LAST_ANALYTICS_REVISION
    added = await tables(previous) - existing
    assert added and all(name.startswith("analytics_") for name in added)
    assert await snapshot(previous, existing) == before
    # Then to the head: the projector writes the later analytics revisions' tables too.
    await upgrade_database(previous)
    assert await tables(previous) - existing >= FACTS
    await Projector(previous, Clocks("Asia/Shanghai", BusinessCalendar()), lag_s=0.0).run_pass()
    assert await previous.fetchval(select(func.count()).select_from(analytics_conversations)) == 90


async def test_downgrading_drops_the_facts_and_keeps_the_record(previous: Database) -> None:
    existing = await tables(previous)
    before = await snapshot(previous, existing)
    await upgrade_database(previous)  # the projector writes the later analytics revisions' tables too
    await Projector(previous, Clocks("UTC", BusinessCalendar()), lag_s=0.0).run_pass()

    await downgrade(previous, REVISION.down_revision)

    assert await current_revision(previous) == REVISION.down_revision
    assert await tables(previous) == existing
    assert await snapshot(previous, existing) == before
