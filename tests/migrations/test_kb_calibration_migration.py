"""Revision 0011_kb_calibration on both backends: a database at 0010 keeps every row and gains the empty
`kb_thresholds`; downgrading drops only it."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backends.sql import Database
from migrations import current_revision, upgrade_database
from tests.conftest import drop_schema, open_test_database
from tests.migrations.test_migrations import make_legacy
from tests.migrations.test_staff_alerts_migration import downgrade, snapshot, tables

REVISION = importlib.import_module("migrations.versions.0011_kb_calibration")
CALIBRATION = {"kb_thresholds"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def previous(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    db, schema = await open_test_database(request.param, tmp_path, upgrade=False)
    try:
        await make_legacy(db)
        await upgrade_database(db, REVISION.down_revision)
        yield db
    finally:
        await db.close()
        if schema:
            await drop_schema(schema)


def test_the_revision_follows_the_analytics_targets() -> None:
    assert REVISION.revision == "0011_kb_calibration"
    assert REVISION.down_revision == "0010_analytics_targets"


async def test_upgrading_adds_the_thresholds_table_and_downgrading_drops_only_it(previous: Database) -> None:
    existing = await tables(previous)
    assert not existing & CALIBRATION
    before = await snapshot(previous, existing)

    await upgrade_database(previous, REVISION.revision)
    assert await current_revision(previous) == REVISION.revision
    assert await tables(previous) == existing | CALIBRATION
    assert await snapshot(previous, existing) == before

    await downgrade(previous, REVISION.down_revision)
    assert await tables(previous) == existing
    assert await snapshot(previous, existing) == before
