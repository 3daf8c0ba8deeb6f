"""Revision 0011_kb_calibration on both backends: a database at 0010 keeps every row and gains the empty
`kb_thresholds`; downgrading drops only it."""

from __future__ import annotations

import importlib

from backends.sql import Database
from migrations import current_revision, upgrade_database
from tests.migrations.test_staff_alerts_migration import downgrade, snapshot, tables

REVISION = importlib.import_module("migrations.versions.0011_kb_calibration")
CALIBRATION = {"kb_thresholds"}


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
