"""The migration tests' starting point: a database of either backend holding the pre-Alembic fixture's rows,
carried up through the revisions to the one before the test module's `REVISION`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from backends.sql import Database
from migrations import upgrade_database
from tests.conftest import drop_schema, open_test_database
from tests.migrations.test_migrations import make_legacy


@asynccontextmanager
async def database_at(kind: str, tmp_path: Path, revision: str) -> AsyncIterator[Database]:
    """A fresh `kind` ("sqlite" | "postgres") database with rows in every old table, upgraded to `revision`; closed
    (and its PostgreSQL schema dropped) afterwards."""
    db, schema = await open_test_database(kind, tmp_path, upgrade=False)
    try:
        await make_legacy(db)
        await upgrade_database(db, revision)
        yield db
    finally:
        await db.close()
        if schema:
            await drop_schema(schema)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def previous(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database at the revision before the test module's `REVISION`, holding rows in every table."""
    async with database_at(request.param, tmp_path, request.module.REVISION.down_revision) as db:
        yield db
