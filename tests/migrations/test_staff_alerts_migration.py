"""Revision 0003_staff_alerts on both backends: a populated database of the previous revision upgrades with every row
intact and gains the alert tables, which work; downgrading drops them again and keeps every other row."""

from __future__ import annotations

import importlib
import json

from alembic import command
from sqlalchemy import Connection, inspect, text

from alerts import SUPERVISORS, AlertKind, AlertStore, sla_title
from backends.sql import Database
from migrations import alembic_config, current_revision, upgrade_database

REVISION = importlib.import_module("migrations.versions.0003_staff_alerts")
ALERT_TABLES = {"staff_alerts", "staff_alert_reads"}


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) - {"alembic_version"}


async def tables(db: Database) -> set[str]:
    async with db.migration_connection() as conn:
        return await conn.run_sync(_tables)


async def snapshot(db: Database, names: set[str]) -> dict[str, list[str]]:
    return {
        name: sorted(
            json.dumps(row, sort_keys=True, default=str) for row in await db.fetch(text(f"SELECT * FROM {name}"))
        )
        for name in sorted(names)
    }


async def downgrade(db: Database, revision: str) -> None:
    async with db.migration_connection() as conn:
        await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), revision))


def test_the_revision_follows_the_ticket_workspace() -> None:
    assert REVISION.revision == "0003_staff_alerts"
    assert REVISION.down_revision == "0002_ticket_workspace"


async def test_upgrading_keeps_every_row_and_adds_working_alert_tables(previous: Database) -> None:
    existing = await tables(previous)
    assert not existing & ALERT_TABLES
    before = await snapshot(previous, existing)
    assert any(before.values())

    await upgrade_database(previous, REVISION.revision)

    assert await current_revision(previous) == REVISION.revision
    assert await tables(previous) == existing | ALERT_TABLES
    assert await snapshot(previous, existing) == before
    store = AlertStore(previous)
    (alert,) = await store.add([SUPERVISORS], AlertKind.SLA_BREACHED, sla_title(AlertKind.SLA_BREACHED, ""), {})
    assert await store.unread_count("sam", ["supervisor"]) == 1
    assert await store.mark_read("sam", ["supervisor"], [alert.id]) == 1


async def test_downgrading_drops_the_alert_tables_and_keeps_the_rest(previous: Database) -> None:
    existing = await tables(previous)
    before = await snapshot(previous, existing)
    await upgrade_database(previous, REVISION.revision)
    await AlertStore(previous).add(["ann"], AlertKind.SLA_AT_RISK, sla_title(AlertKind.SLA_AT_RISK, ""), {})

    await downgrade(previous, REVISION.down_revision)

    assert await current_revision(previous) == REVISION.down_revision
    assert await tables(previous) == existing
    assert await snapshot(previous, existing) == before
    await upgrade_database(previous, REVISION.revision)  # and up again, empty
    assert await AlertStore(previous).unread_count("ann", []) == 0
