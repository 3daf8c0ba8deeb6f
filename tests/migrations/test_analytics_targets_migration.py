"""Revision 0010_analytics_targets on both backends: a database at 0009 keeps every row and gains the empty PDCA
tables (targets, annotations, breaches); downgrading drops only them."""

from __future__ import annotations

import importlib

from backends.sql import Database
from migrations import current_revision, upgrade_database
from tests.migrations.test_staff_alerts_migration import downgrade, snapshot, tables

REVISION = importlib.import_module("migrations.versions.0010_analytics_targets")
PDCA = {"analytics_targets", "analytics_annotations", "analytics_breaches"}


def test_the_revision_follows_the_kb_terms_rollup() -> None:
    assert REVISION.revision == "0010_analytics_targets"
    assert REVISION.down_revision == "0009_analytics_kb_terms"


async def test_upgrading_adds_the_pdca_tables_and_downgrading_drops_only_them(previous: Database) -> None:
    existing = await tables(previous)
    assert not existing & PDCA
    before = await snapshot(previous, existing)

    await upgrade_database(previous, REVISION.revision)
    assert await current_revision(previous) == REVISION.revision
    assert await tables(previous) == existing | PDCA
    assert await snapshot(previous, existing) == before

    await downgrade(previous, REVISION.down_revision)
    assert await tables(previous) == existing
    assert await snapshot(previous, existing) == before
