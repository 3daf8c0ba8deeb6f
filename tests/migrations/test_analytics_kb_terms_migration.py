"""Revision 0009_analytics_kb_terms on both backends: it adds the KB lists' daily rollup, empty, and only that;
downgrading drops only it."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from migrations import current_revision, upgrade_database
from tests.conftest import drop_schema, open_test_database
from tests.migrations.test_staff_alerts_migration import downgrade, tables

REVISION = importlib.import_module("migrations.versions.0009_analytics_kb_terms")


def test_the_revision_follows_the_analytics_facts() -> None:
    assert REVISION.revision == "0009_analytics_kb_terms"
    assert REVISION.down_revision == "0008_analytics_facts"


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_it_adds_the_kb_terms_rollup_and_downgrading_drops_it(backend: str, tmp_path: Path) -> None:
    db, schema = await open_test_database(backend, tmp_path, upgrade=False)
    try:
        await upgrade_database(db, REVISION.down_revision)
        before = await tables(db)
        await upgrade_database(db, REVISION.revision)
        assert await tables(db) == before | {"analytics_daily_kb_terms"}
        await downgrade(db, REVISION.down_revision)
        assert await current_revision(db) == REVISION.down_revision
        assert await tables(db) == before
    finally:
        await db.close()
        if schema:
            await drop_schema(schema)
