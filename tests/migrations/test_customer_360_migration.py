"""Migration 0006_customer_360 on SQLite and PostgreSQL: a populated database of the previous revision upgrades with
every row kept (customers get empty tags and preferences, identities read as the channels' own), the new record
works on it, and the downgrade drops only what the upgrade added."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from backends.sql import Database
from conversations.customers import CustomerRecords
from conversations.identity import IdentityKey
from conversations.models import IdentitySource
from conversations.store import ConversationStore
from intake.tickets import TicketStore
from migrations import alembic_config, current_revision, head_revision, upgrade_database
from tests.conftest import drop_schema, open_test_database

REVISION = "0006_customer_360"
# The revision before this one, as the script says (revisions are chained when branches merge).
PREVIOUS = str(ScriptDirectory.from_config(alembic_config()).get_revision(REVISION).down_revision)
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
async def previous(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database at the revision before this one, holding two customers, their identities and a ticket."""
    db, schema = await open_test_database(request.param, tmp_path, upgrade=False)
    try:
        await upgrade_database(db, PREVIOUS)
        async with db.transaction() as tx:
            for cid, name, tier, phone in (("cus_web", "Alex", "gold", ""), ("cus_wx", "", "standard", "13800138001")):
                await tx.execute(
                    text(
                        "INSERT INTO customers (id, display_name, tier, email, phone, language, created_at) "
                        "VALUES (:id, :name, :tier, '', :phone, 'en', 1000)"
                    ),
                    {"id": cid, "name": name, "tier": tier, "phone": phone},
                )
            for channel, external, cid in (("web", "visitor", "cus_web"), ("wechat", "openid", "cus_wx")):
                await tx.execute(
                    text(
                        "INSERT INTO identities (channel, external_id, customer_id, created_at) "
                        "VALUES (:channel, :external, :cid, 1000)"
                    ),
                    {"channel": channel, "external": external, "cid": cid},
                )
            await tx.execute(
                text(
                    "INSERT INTO conversations (id, customer_id, channel, created_at) "
                    "VALUES ('conv_wx', 'cus_wx', 'wechat', 1000)"
                )
            )
            await tx.execute(
                text(
                    "INSERT INTO intake_tickets (number, seq, customer_id, conversation_id, language, priority, "
                    "status, created_at, updated_at, first_response_due, resolution_due) "
                    "VALUES ('FD-000001', 1, 'cus_wx', 'conv_wx', 'zh', 'normal', 'new', 1000, 1000, 2000, 9000)"
                )
            )
        yield db
    finally:
        await db.close()
        if schema:
            await drop_schema(schema)


def _columns(conn: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns(table)}


async def test_a_populated_database_upgrades_with_every_row_and_the_record_works_on_it(previous: Database) -> None:
    await upgrade_database(previous)
    assert await current_revision(previous) == head_revision()

    records = CustomerRecords(previous, movers={"tickets": TicketStore(previous)})
    web = await records.get("cus_web")
    assert (web.display_name, web.tier, web.tags, web.preferences, web.merged_into) == ("Alex", "gold", (), {}, None)
    (identity,) = await records.identities_of("cus_wx")
    assert (identity.kind, identity.source, identity.verified_at) == ("wechat", IdentitySource.CHANNEL, None)
    assert IdentityKey("phone", "13800138001") in await records.keys_of("cus_wx")

    merge = await records.merge("cus_wx", "cus_web", actor="ann", note="same person")
    assert merge.moved == {"identities": 1, "conversations": 1, "surveys": 0, "tickets": 1}
    assert (await ConversationStore(previous).customer_for_identity("wechat", "openid"))[0].id == "cus_web"
    assert (await records.get("cus_web")).phone == "13800138001"


async def test_the_downgrade_drops_only_what_the_upgrade_added(previous: Database) -> None:
    await upgrade_database(previous, REVISION)
    async with previous.migration_connection() as conn:
        await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), PREVIOUS))
        tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        customers = await conn.run_sync(_columns, "customers")
        identities = await conn.run_sync(_columns, "identities")
    assert "customer_merges" not in tables
    assert {"tags", "preferences", "merged_into", "updated_at"}.isdisjoint(customers)
    assert {"source", "verified_at", "detail"}.isdisjoint(identities)
    assert await current_revision(previous) == PREVIOUS
    assert await previous.fetchval(text("SELECT count(*) FROM identities")) == 2
    await upgrade_database(previous, REVISION)  # and up again
    assert await current_revision(previous) == REVISION
