"""Revision 0012_redis_outage on both backends: a database at 0011 keeps every row (its messages without a client
message id), gains `messages.client_message_id` with its unique index and the empty `handoff_pending`; downgrading
removes only them."""

from __future__ import annotations

import importlib

from sqlalchemy import text

from backends.sql import Database
from conversations.models import Sender
from conversations.store import ConversationStore, MessageDraft
from migrations import current_revision, upgrade_database
from tests.migrations.test_staff_alerts_migration import downgrade, snapshot, tables

REVISION = importlib.import_module("migrations.versions.0012_redis_outage")


def test_the_revision_follows_the_kb_calibration() -> None:
    assert REVISION.revision == "0012_redis_outage"
    assert REVISION.down_revision == "0011_kb_calibration"


async def test_upgrading_keeps_every_message_and_stores_client_ids_once(previous: Database) -> None:
    existing = await tables(previous)
    before = await snapshot(previous, existing - {"messages"})
    messages_before = await previous.fetch(text("SELECT id, conversation_id, seq, text FROM messages ORDER BY id"))
    assert messages_before

    await upgrade_database(previous, REVISION.revision)
    assert await current_revision(previous) == REVISION.revision
    assert await tables(previous) == existing | {"handoff_pending"}
    assert await snapshot(previous, existing - {"messages"}) == before
    after = await previous.fetch(
        text("SELECT id, conversation_id, seq, text, client_message_id FROM messages ORDER BY id")
    )
    assert [{k: v for k, v in row.items() if k != "client_message_id"} for row in after] == messages_before
    assert {row["client_message_id"] for row in after} == {None}

    conversation_id = messages_before[0]["conversation_id"]
    store = ConversationStore(previous)
    draft = MessageDraft(Sender.CUSTOMER, "again?", client_message_id="c-1")
    assert (await store.append_once(conversation_id, draft))[1] is True
    assert (await store.append_once(conversation_id, draft))[1] is False
    written = await snapshot(previous, existing)

    await downgrade(previous, REVISION.down_revision)
    assert await tables(previous) == existing
    assert await snapshot(previous, existing - {"messages"}) == {k: v for k, v in written.items() if k != "messages"}
    assert len((await snapshot(previous, {"messages"}))["messages"]) == len(messages_before) + 1
