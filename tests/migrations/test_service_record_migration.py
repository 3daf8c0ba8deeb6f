"""Revision 0007_service_record on both backends: a populated database of the previous revision upgrades with every row
intact and gains a working `service_events`; a record with many events is untouched by later upgrades; downgrading
drops only the record."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from alerts import SUPERVISORS, AlertKind, AlertStore, sla_title
from backends.sql import Database
from migrations import current_revision, upgrade_database
from record import CUSTOMER, EventQuery, ServiceEvent, ServiceEventKind, SQLServiceRecord
from record.tables import service_events
from tests.conftest import drop_schema, open_test_database
from tests.migrations.test_migrations import make_legacy
from tests.migrations.test_staff_alerts_migration import downgrade, snapshot, tables

REVISION = importlib.import_module("migrations.versions.0007_service_record")
RECORD_TABLES = {"service_events"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def previous(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database at the revision before this one, holding rows in every table the pre-Alembic code made (carried up
    through the revisions in between) and in some later ones: alerts, a customer merge."""
    db, schema = await open_test_database(request.param, tmp_path, upgrade=False)
    try:
        await make_legacy(db)
        await upgrade_database(db, REVISION.down_revision)
        await AlertStore(db).add([SUPERVISORS], AlertKind.SLA_BREACHED, sla_title(AlertKind.SLA_BREACHED, ""), {})
        await db.execute(
            text(
                "INSERT INTO customer_merges (id, source_id, target_id, actor, reason, at) "
                "VALUES ('mrg_1', 'cus_a', 'cus_b', 'system', 'order_proof', 1000)"
            )
        )
        yield db
    finally:
        await db.close()
        if schema:
            await drop_schema(schema)


def opened(n: int) -> ServiceEvent:
    return ServiceEvent(
        kind=ServiceEventKind.CONVERSATION_OPENED, at=1_000.0 + n, actor=CUSTOMER, conversation_id=f"c{n}"
    )


def test_the_revision_follows_customer_360() -> None:
    assert REVISION.revision == "0007_service_record"
    assert REVISION.down_revision == "0006_customer_360"


async def test_upgrading_keeps_every_row_and_adds_a_working_record(previous: Database) -> None:
    existing = await tables(previous)
    assert not existing & RECORD_TABLES
    before = await snapshot(previous, existing)
    assert before["customers"] and before["intake_tickets"] and before["staff_alerts"] and before["customer_merges"]

    await upgrade_database(previous, REVISION.revision)

    assert await current_revision(previous) == REVISION.revision
    assert await tables(previous) == existing | RECORD_TABLES
    assert await snapshot(previous, existing) == before
    record = SQLServiceRecord(previous)
    await record.append([opened(1), opened(2)])
    assert [e.conversation_id for e in await record.read(EventQuery(kinds=["conversation_opened"]))] == ["c1", "c2"]


async def test_a_record_with_many_events_is_kept_by_every_later_upgrade(previous: Database) -> None:
    await upgrade_database(previous, REVISION.revision)
    record = SQLServiceRecord(previous)
    await record.append([opened(n) for n in range(5000)])
    await upgrade_database(previous)  # every replica, at every start
    await upgrade_database(previous)
    assert await previous.fetchval(select(func.count()).select_from(service_events)) == 5000
    assert (await record.read(EventQuery(since=1_000.0 + 4999)))[0].conversation_id == "c4999"


async def test_downgrading_drops_the_record_and_keeps_the_rest(previous: Database) -> None:
    existing = await tables(previous)
    before = await snapshot(previous, existing)
    await upgrade_database(previous, REVISION.revision)
    await SQLServiceRecord(previous).append([opened(1)])

    await downgrade(previous, REVISION.down_revision)

    assert await current_revision(previous) == REVISION.down_revision
    assert await tables(previous) == existing
    assert await snapshot(previous, existing) == before
    await upgrade_database(previous, REVISION.revision)  # and up again, empty
    assert await SQLServiceRecord(previous).read() == []
