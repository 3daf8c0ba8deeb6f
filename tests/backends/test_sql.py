"""The SQL seam on both backends: transactions commit or roll back as one, concurrent coroutines never interleave
inside a transaction, and upserts work the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Text, insert, select, text, update
from sqlalchemy.sql.expression import Executable

from backends.sql import Database, upsert

# A table of the test's own, on its own MetaData: the seam knows no store's tables.
counters = Table("sql_seam_counters", MetaData(), Column("name", Text, primary_key=True), Column("value", Integer))


@pytest.fixture
async def db(database: Database) -> Database:
    async with database.transaction() as tx:
        await tx.execute(text("CREATE TABLE sql_seam_counters (name TEXT PRIMARY KEY, value INTEGER)"))
    return database


async def test_a_transaction_that_raises_leaves_nothing_behind(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute(insert(counters).values(name="a", value=1))
            await tx.execute(insert(counters).values(name="b", value=1))
            raise RuntimeError("boom")
    assert await db.fetch(select(counters)) == []


async def test_fifty_concurrent_read_modify_write_transactions_lose_no_update(db: Database) -> None:
    await db.execute(insert(counters).values(name="n", value=0))

    async def bump() -> None:
        async with db.transaction() as tx:
            # Lock the row on PostgreSQL; SQLite's transaction already holds the only write lock.
            statement = select(counters.c.value).where(counters.c.name == "n")
            if db.dialect == "postgresql":
                statement = statement.with_for_update()
            value = await tx.fetchval(statement)
            await asyncio.sleep(0)  # let the others run: none may land inside this transaction
            await tx.execute(update(counters).where(counters.c.name == "n").values(value=value + 1))

    await asyncio.gather(*(bump() for _ in range(50)))
    assert await db.fetchval(select(counters.c.value).where(counters.c.name == "n")) == 50


async def test_upsert_inserts_then_updates_and_reports_rows_changed(db: Database) -> None:
    def bump(name: str) -> Executable:
        return (
            upsert(db, counters)
            .values(name=name, value=1)
            .on_conflict_do_update(index_elements=[counters.c.name], set_={"value": counters.c.value + 1})
        )

    for _ in range(3):
        assert await db.execute(bump("a")) == 1
    skipped = upsert(db, counters).values(name="a", value=9).on_conflict_do_nothing(index_elements=[counters.c.name])
    assert await db.execute(skipped) == 0
    assert await db.fetchrow(select(counters)) == {"name": "a", "value": 3}
    assert await db.fetchrow(select(counters).where(counters.c.name == "zzz")) is None
