"""Alembic on both backends: a database the code before Alembic made upgrades in place with every row intact, a fresh
upgrade builds exactly that schema, and replicas upgrading together all succeed."""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

import backends.sql
import migrations
from actions.feedback import SQLFeedbackRecorder
from backends.schema import metadata
from backends.sql import Database, open_database
from conversations.models import Sender
from conversations.store import ConversationStore, MessageDraft
from conversations.surveys import SurveyStore
from handoff.profiles import AgentProfileStore
from intake.deliveries import DeliveryLog
from intake.models import EventKind, Priority, TicketDraft, TicketStatus
from intake.tickets import TicketStore
from kb.feedback import KBFeedbackStore
from kb.store import EntryDraft, EntryStatus, FAQEntry, FAQStore
from kb.unanswered import UnansweredStore
from migrations import current_revision, head_revision, upgrade_database
from migrations.upgrade import LEGACY_TABLES
from staff.auth import Role, StaffDirectory, hash_password
from tests.conftest import POSTGRES_URL, drop_schema, open_test_database
from web.tokens import token_hash

LEGACY_SCHEMA = Path(__file__).with_name("legacy_schema.sql")
SESSION_TOKEN = "legacy-session-token"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def legacy_statements() -> list[str]:
    lines = [line for line in LEGACY_SCHEMA.read_text().splitlines() if not line.startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _subject(statement: str) -> str:
    """The table a CREATE TABLE, CREATE INDEX … ON or INSERT INTO statement is about."""
    match = re.search(r"(?:CREATE TABLE IF NOT EXISTS|\bON|INSERT INTO) (\w+)", statement)
    assert match is not None, statement
    return match.group(1)


def _entry(version: int, status: EntryStatus, updated_at: float) -> FAQEntry:
    return FAQEntry(
        id="faq_returns",
        question="How do I return an item?",
        answer="Within 30 days, from Orders.",
        language="en",
        category="returns",
        status=status,
        version=version,
        author="eve",
        created_at=1000.0,
        updated_at=updated_at,
        paraphrases=("Can I send it back?",),
        tags=("returns",),
        published_at=1002.0 if status is EntryStatus.PUBLISHED else None,
    )


def _entry_row(entry: FAQEntry) -> dict[str, Any]:
    data = entry.to_dict()
    return {
        **{k: data[k] for k in ("id", "language", "category", "status", "version", "question", "answer", "author")},
        **{k: data[k] for k in ("created_at", "updated_at", "published_at")},
        "paraphrases": json.dumps(data["paraphrases"]),
        "tags": json.dumps(data["tags"]),
    }


def _revision_row(entry: FAQEntry, action: str) -> dict[str, Any]:
    return {
        "entry_id": entry.id,
        "version": entry.version,
        "action": action,
        "author": "eve",
        "at": entry.updated_at,
        "note": "",
        "snapshot": json.dumps(entry.to_dict()),
    }


# One or two rows in every table the old code created, as it wrote them (foreign keys first).
LEGACY_ROWS: dict[str, list[dict[str, Any]]] = {
    "customers": [
        {"id": "cus_1", "display_name": "Ada", "tier": "gold", "email": "ada@example.com", "phone": "+44 1",
         "language": "en", "created_at": 1000.0, "unsubscribed": 0},
        {"id": "cus_2", "created_at": 1000.5},  # the defaults fill the rest
    ],
    "identities": [{"channel": "web", "external_id": "visitor-1", "customer_id": "cus_1", "created_at": 1000.0}],
    "conversations": [
        {"id": "conv_1", "customer_id": "cus_1", "channel": "web", "language": "en", "external_id": "",
         "token_hash": "th", "created_at": 1000.0, "closed_at": None, "last_customer_at": 1001.0, "next_seq": 2},
    ],
    "messages": [
        {"id": "msg_1", "conversation_id": "conv_1", "seq": 1, "sender": "customer", "sender_id": "", "text": "Hello",
         "buttons": "[]", "custom": "{}", "created_at": 1001.0},
        {"id": "msg_2", "conversation_id": "conv_1", "seq": 2, "sender": "bot", "sender_id": "", "text": "你好 Ada",
         "buttons": json.dumps([{"title": "Yes", "payload": "/affirm"}]), "custom": json.dumps({"kb": {"n": 1}}),
         "created_at": 1001.5},
    ],
    "kb_entries": [_entry_row(_entry(2, EntryStatus.PUBLISHED, 1002.0))],
    "kb_revisions": [
        _revision_row(_entry(1, EntryStatus.DRAFT, 1000.0), "created"),
        _revision_row(_entry(2, EntryStatus.PUBLISHED, 1002.0), "published"),
    ],
    "kb_meta": [{"key": "revision", "value": 2}],
    "kb_unanswered": [
        {"id": "uq_1", "query": "Do you ship to Mars?", "language": "en", "reason": "not_found",
         "conversation_id": "conv_1", "entry_id": "", "confidence": None, "at": 1003.0, "state": "open",
         "draft_entry_id": "", "dedupe_key": "not_found:conv_1:abc"},
    ],
    "kb_feedback": [
        {"entry_id": "faq_returns", "conversation_id": "conv_1", "query": "return?", "language": "en", "helpful": 1,
         "confidence": 0.9, "at": 1004.0},
    ],
    "bot_answer_feedback": [
        {"conversation_id": "conv_1", "customer_id": "cus_1", "entry_id": "faq_returns", "query": "return?",
         "language": "en", "helpful": 0, "confidence": 0.9, "at": 1004.0},
    ],
    "intake_tickets": [
        {"number": "FD-000001", "seq": 1, "customer_id": "cus_1", "conversation_id": "conv_1", "order_number": "A1",
         "product": "kettle", "category": "product_fault", "description": "smoke", "urgency": "urgent",
         "contact": "ada@example.com", "language": "en", "priority": "urgent", "status": "open",
         "created_at": 1005.0, "updated_at": 1005.0, "first_response_due": 2000.0, "resolution_due": 9000.0,
         "first_responded_at": None, "resolved_at": None, "closed_at": None, "extra": json.dumps({"k": "v"})},
    ],
    "intake_ticket_history": [
        {"number": "FD-000001", "seq": 1, "from_status": None, "to_status": "open", "actor": "bot",
         "note": "created", "at": 1005.0},
    ],
    "staff": [
        {"username": "ann", "display_name": "Ann", "password_hash": hash_password("s3cret"), "roles": "agent",
         "created_at": 1000.0},
    ],
    "staff_sessions": [{"token_hash": token_hash(SESSION_TOKEN), "username": "ann", "expires_at": 4_000_000_000.0}],
    "agent_profiles": [
        {"username": "ann", "display_name": "Ann", "skills": '["billing"]', "languages": '["en", "zh"]',
         "capacity": 4, "updated_at": 1000.0},
    ],
    "handoff_surveys": [
        {"id": "srv_1", "conversation_id": "conv_1", "agent_id": "ann", "state": "rated", "score": 5, "comment": "",
         "asked_at": 1006.0, "rated_at": 1007.0, "commented_at": None},
    ],
}  # fmt: skip


async def make_legacy(db: Database, tables: frozenset[str] = LEGACY_TABLES, rows: bool = True) -> None:
    """What the stores' old `migrate()` calls left behind, with rows written the way the old code wrote them."""
    async with db.transaction() as tx:
        for statement in legacy_statements():
            if _subject(statement) in tables:
                await tx.execute(text(statement))
        if rows:
            for table, table_rows in LEGACY_ROWS.items():
                if table in tables:
                    for row in table_rows:
                        columns = ", ".join(row)
                        values = ", ".join(f":{name}" for name in row)
                        await tx.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({values})"), row)
            if "intake_counters" in tables:
                await tx.execute(text("UPDATE intake_counters SET value = 1 WHERE name = 'ticket'"))


async def snapshot(
    db: Database, tables: frozenset[str] = LEGACY_TABLES, like: dict[str, list[dict[str, Any]]] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Every row of `tables`; with `like` (an earlier snapshot), only the columns that snapshot had, so columns a
    later revision added (with their defaults) do not count as a changed row."""
    out = {}
    for table in sorted(tables):
        rows = await db.fetch(text(f"SELECT * FROM {table}"))
        if like is not None and like.get(table):
            columns = set(like[table][0])
            rows = [{k: v for k, v in row.items() if k in columns} for row in rows]
        out[table] = sorted(rows, key=lambda row: json.dumps(row, sort_keys=True, default=str))
    return out


@pytest.fixture(params=BACKENDS)
async def bare(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database (SQLite file or PostgreSQL schema) that no one has upgraded."""
    db, schema = await open_test_database(request.param, tmp_path, upgrade=False)
    try:
        yield db
    finally:
        await db.close()
        if schema:
            await drop_schema(schema)


async def test_a_database_made_before_alembic_upgrades_in_place_with_every_row(bare: Database) -> None:
    await make_legacy(bare)
    before = await snapshot(bare)
    assert all(before[table] for table in LEGACY_TABLES)

    await upgrade_database(bare, migrations.BASELINE)
    assert await snapshot(bare, like=before) == before

    await upgrade_database(bare)
    assert await current_revision(bare) == head_revision()
    await _stores_read_the_legacy_rows(bare)


async def _stores_read_the_legacy_rows(db: Database) -> None:
    conversations = ConversationStore(db)
    assert (await conversations.get_customer("cus_1")).display_name == "Ada"
    assert (await conversations.get_customer("cus_2")).tier == "standard"
    customer, returning = await conversations.customer_for_identity("web", "visitor-1")
    assert (customer.id, returning) == ("cus_1", True)
    history = await conversations.history("conv_1")
    assert [m.text for m in history] == ["Hello", "你好 Ada"]
    assert history[1].buttons[0].payload == "/affirm" and history[1].custom == {"kb": {"n": 1}}
    (appended,) = await conversations.append("conv_1", [MessageDraft(Sender.CUSTOMER, "still there?")])
    assert appended.seq == 3

    faq = FAQStore(db)
    entry = await faq.get("faq_returns")
    assert (entry.version, entry.status, entry.paraphrases) == (2, EntryStatus.PUBLISHED, ("Can I send it back?",))
    assert [r.version for r in await faq.revisions("faq_returns")] == [2, 1]
    assert await faq.revision() == 2
    edited = await faq.update("faq_returns", EntryDraft("How do I return it?", entry.answer, "en"), "eve")
    assert edited.version == 3 and await faq.revision() == 3

    assert [q.id for q in await UnansweredStore(db).open_items()] == ["uq_1"]
    assert (await KBFeedbackStore(db).counts(["faq_returns"]))["faq_returns"].helpful == 1
    assert [r.helpful for r in await SQLFeedbackRecorder(db).recent("faq_returns")] == [False]

    tickets = TicketStore(db)
    ticket = await tickets.get_for_staff("FD-000001")
    # 0002_ticket_workspace: an untouched "open" ticket is "new"; its history is its timeline; the channel is
    # its conversation's; the SLA watcher looks at it on its first pass.
    assert ticket is not None and ticket.extra == {"k": "v"} and ticket.status is TicketStatus.NEW
    assert (ticket.channel, ticket.sla_next_check) == ("web", 1005.0)
    (created,) = await tickets.timeline("FD-000001")
    assert (created.kind, created.actor, created.body, created.data) == (
        EventKind.CREATED,
        "bot",
        "created",
        {"from": None, "to": "new"},
    )
    moved = await tickets.transition("FD-000001", TicketStatus.OPEN, actor="ann")
    assert moved is not None and len(await tickets.timeline("FD-000001")) == 2
    new = await tickets.create(TicketDraft(customer_id="cus_1"), priority=Priority.LOW)
    assert new.number == "FD-000002"  # the counter carried over

    staff = StaffDirectory(db)
    member = await staff.member_for_session(SESSION_TOKEN)
    assert member is not None and member.roles == frozenset({Role.AGENT})
    assert await staff.login("ann", "s3cret") is not None
    profile = await AgentProfileStore(db).get("ann")
    assert profile is not None and (profile.capacity, profile.languages) == (4, ("en", "zh"))
    survey = await SurveyStore(db).latest("conv_1")
    assert survey is not None and survey.score == 5


async def test_a_partial_old_database_keeps_its_rows_and_gets_the_missing_tables(bare: Database) -> None:
    """A front door whose KB never started had only some of the tables."""
    partial = frozenset({"customers", "identities", "conversations", "messages", "staff", "staff_sessions"})
    await make_legacy(bare, partial)
    before = await snapshot(bare, partial)

    await upgrade_database(bare)

    assert await snapshot(bare, partial, like=before) == before
    assert await current_revision(bare) == head_revision()
    assert await FAQStore(bare).count() == 0
    assert (await ConversationStore(bare).get_customer("cus_1")).display_name == "Ada"
    ticket = await TicketStore(bare).create(TicketDraft(customer_id="cus_1"), priority=Priority.LOW)
    assert ticket.number == "FD-000001"  # the baseline seeded the counter


async def test_upgrading_again_changes_nothing(bare: Database) -> None:
    await upgrade_database(bare)
    await StaffDirectory(bare).add("ann", "pw", [Role.AGENT])
    await upgrade_database(bare)
    assert await current_revision(bare) == head_revision()
    assert await StaffDirectory(bare).count() == 1


def _schema(conn: Connection) -> dict[str, Any]:
    """Tables, columns (type, nullability, default), keys and indexes as the database itself reports them."""
    inspector = inspect(conn)
    postgres = conn.dialect.name == "postgresql"
    out: dict[str, Any] = {}
    for table in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
        pk = inspector.get_pk_constraint(table)
        out[table] = {
            "columns": [
                # SQLite lets a non-integer PRIMARY KEY column hold NULL unless it says NOT NULL; the old DDL didn't.
                (c["name"], str(c["type"]), c["nullable"] or (not postgres and c["name"] in pk["constrained_columns"]),
                 c["default"])
                for c in inspector.get_columns(table)
            ],
            "pk": (pk["constrained_columns"], pk["name"] if postgres else None),
            "indexes": sorted((i["name"], i["column_names"], i["unique"]) for i in inspector.get_indexes(table)),
            "unique": sorted(
                (u["column_names"], u["name"] if postgres else None) for u in inspector.get_unique_constraints(table)
            ),
            "fks": _foreign_keys(conn, table),
        }  # fmt: skip
    return out


def _foreign_keys(conn: Connection, table: str) -> list[tuple[Any, ...]]:
    if conn.dialect.name == "sqlite":
        # SQLAlchemy's reflection misses ON DELETE on an inline REFERENCES clause; SQLite's own catalogue has it.
        rows = conn.exec_driver_sql(f"PRAGMA foreign_key_list({table})").mappings()
        return sorted(([r["from"]], r["table"], [r["to"]], r["on_delete"], None) for r in rows)
    return sorted(
        (f["constrained_columns"], f["referred_table"], f["referred_columns"], f["options"].get("ondelete"), f["name"])
        for f in inspect(conn).get_foreign_keys(table)
    )


@pytest.mark.parametrize("kind", BACKENDS)
async def test_a_fresh_upgrade_to_the_baseline_builds_exactly_the_old_schema(kind: str, tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old, old_schema = await open_test_database(kind, tmp_path / "old", upgrade=False)
    new, new_schema = await open_test_database(kind, tmp_path / "new", upgrade=False)
    try:
        await upgrade_database(new, migrations.BASELINE)
        await make_legacy(old, rows=False)
        async with old.migration_connection() as conn:
            expected = await conn.run_sync(_schema)
        async with new.migration_connection() as conn:
            actual = await conn.run_sync(_schema)
        assert set(expected) == LEGACY_TABLES
        assert actual == expected
    finally:
        for db, schema in ((old, old_schema), (new, new_schema)):
            await db.close()
            if schema:
                await drop_schema(schema)


async def test_the_tables_in_code_match_the_migrations(bare: Database) -> None:
    """`alembic revision --autogenerate` would find nothing to do: every table change comes with its revision."""
    await upgrade_database(bare)
    postgres = bare.dialect == "postgresql"
    async with bare.migration_connection() as conn:
        diff = await conn.run_sync(
            # SQLite reports DOUBLE PRECISION back as REAL, so only PostgreSQL can compare types.
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": postgres, "include_name": _declared}), metadata
            )
        )
    assert diff == []


def _declared(name: str | None, kind: str, _parents: Any) -> bool:
    """Everything but the optional PostgreSQL trigram indexes (0004: only where pg_trgm could be created)."""
    return not (kind == "index" and name is not None and name.endswith("_trgm"))


@pytest.mark.postgres
@pytest.mark.parametrize("legacy", [False, True], ids=["fresh", "before-alembic"])
async def test_replicas_upgrading_together_all_succeed_on_postgres(legacy: bool, tmp_path: Path) -> None:
    first, schema = await open_test_database("postgres", tmp_path, upgrade=False)
    assert schema is not None
    replicas = [first, *[await open_database(POSTGRES_URL, schema=schema) for _ in range(3)]]
    try:
        if legacy:
            await make_legacy(first)
        await asyncio.gather(*(upgrade_database(db) for db in replicas))
        assert {await current_revision(db) for db in replicas} == {head_revision()}
        if legacy:
            await _stores_read_the_legacy_rows(first)
        else:
            assert await StaffDirectory(first).count() == 0
    finally:
        for db in replicas:
            await db.close()
        await drop_schema(schema)


async def test_processes_sharing_an_sqlite_file_upgrade_it_together(tmp_path: Path) -> None:
    replicas = [await open_database(f"sqlite:///{tmp_path / 'shared.db'}") for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade_database(db) for db in replicas))
        assert {await current_revision(db) for db in replicas} == {head_revision()}
    finally:
        for db in replicas:
            await db.close()


async def test_an_upgrade_waits_for_another_process_holding_the_file_longer_than_the_busy_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The other process's upgrade holds the write lock for its whole run; on a loaded machine that outlasts the busy
    # timeout meant for single statements (here shortened so the test need not wait 5 s).
    pragmas = tuple(p if "busy_timeout" not in p else "PRAGMA busy_timeout=50" for p in backends.sql._SQLITE_PRAGMAS)
    monkeypatch.setattr(backends.sql, "_SQLITE_PRAGMAS", pragmas)
    path = tmp_path / "shared.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN IMMEDIATE")
    db = await open_database(f"sqlite:///{path}")
    try:
        upgrade = asyncio.ensure_future(upgrade_database(db))
        await asyncio.sleep(0.5)  # ten busy timeouts
        assert not upgrade.done()
        holder.execute("COMMIT")
        await upgrade
        assert await current_revision(db) == head_revision()
    finally:
        holder.close()
        await db.close()


_OLD_TICKETS = [
    # (number, old status, first responded, history) -> (new status)
    ("FD-000001", "open", None, ["open"], "new"),
    ("FD-000002", "open", 1100.0, ["open", "in_progress", "resolved", "open"], "open"),
    ("FD-000003", "in_progress", 1100.0, ["open", "in_progress"], "open"),
    ("FD-000004", "waiting_on_customer", 1100.0, ["open", "in_progress", "waiting_on_customer"], "pending_customer"),
    ("FD-000005", "closed", 1100.0, ["open", "closed"], "closed"),
]


async def test_the_ticket_workspace_migration_renames_statuses_and_keeps_every_history_row(bare: Database) -> None:
    """A baseline database full of tickets in every old status upgrades to the new workflow without losing a row."""
    await upgrade_database(bare, migrations.BASELINE)
    async with bare.transaction() as tx:
        for seq, (number, status, responded, history, _) in enumerate(_OLD_TICKETS, start=1):
            await tx.execute(
                text(
                    "INSERT INTO intake_tickets (number, seq, customer_id, conversation_id, language, priority, "
                    "status, created_at, updated_at, first_response_due, resolution_due, first_responded_at) "
                    "VALUES (:n, :seq, 'cus_1', '', 'zh', 'normal', :status, 1000, 1200, 2000, 9000, :responded)"
                ),
                {"n": number, "seq": seq, "status": status, "responded": responded},
            )
            previous = None
            for step, to_status in enumerate(history, start=1):
                await tx.execute(
                    text(
                        "INSERT INTO intake_ticket_history (number, seq, from_status, to_status, actor, note, at) "
                        "VALUES (:n, :seq, :f, :t, 'ann', :note, :at)"
                    ),
                    {"n": number, "seq": step, "f": previous, "t": to_status, "note": f"n{step}", "at": 1000 + step},
                )
                previous = to_status

    await upgrade_database(bare)

    tickets = TicketStore(bare)
    renamed = {"in_progress": "open", "waiting_on_customer": "pending_customer"}
    for number, _, _, history, new_status in _OLD_TICKETS:
        ticket = await tickets.get_for_staff(number)
        assert ticket is not None and ticket.status.value == new_status, number
        events = await tickets.timeline(number)
        assert [e.data["to"] for e in events] == ["new"] + [renamed.get(h, h) for h in history[1:]]
        assert [e.body for e in events] == [f"n{i}" for i in range(1, len(history) + 1)]
        assert events[0].kind is EventKind.CREATED and all(e.kind is EventKind.STATUS for e in events[1:])
        assert ticket.paused_at == (1200.0 if new_status == "pending_customer" else None)
        assert (ticket.sla_next_check is not None) == (new_status in ("new", "open"))


# The revision 0005_notifications follows (read from it, so re-chaining the revisions keeps this test right).
PREVIOUS_REVISION = str(importlib.import_module("migrations.versions.0005_notifications").down_revision)


async def test_the_notifications_migration_keeps_every_survey_and_learns_who_was_asked(bare: Database) -> None:
    """A database of the revision before with a live chat's survey upgrades: the survey keeps its answers and gains
    its customer, channel and language from its conversation; deliveries and follow-ups start empty and work."""
    await upgrade_database(bare, PREVIOUS_REVISION)
    async with bare.transaction() as tx:
        await tx.execute(text("INSERT INTO customers (id, created_at) VALUES ('cus_1', 1000)"))
        await tx.execute(
            text(
                "INSERT INTO conversations (id, customer_id, channel, language, created_at) "
                "VALUES ('conv_1', 'cus_1', 'wechat', 'zh', 1000)"
            )
        )
        await tx.execute(
            text(
                "INSERT INTO handoff_surveys (id, conversation_id, agent_id, state, score, comment, asked_at, "
                "rated_at) VALUES ('srv_1', 'conv_1', 'ann', 'done', 4, 'quick', 1006, 1007)"
            )
        )
        await tx.execute(
            text(
                "INSERT INTO handoff_surveys (id, conversation_id, state, asked_at) VALUES ('srv_2', 'conv_gone', "
                "'asked', 1008)"
            )
        )

    await upgrade_database(bare)

    surveys = SurveyStore(bare)
    kept = await surveys.get("srv_1")
    assert kept is not None and (kept.score, kept.comment, kept.agent_id, kept.ticket, kept.solved) == (
        4,
        "quick",
        "ann",
        None,
        None,
    )
    assert (kept.customer_id, kept.channel, kept.language) == ("cus_1", "wechat", "zh")
    orphan = await surveys.get("srv_2")
    assert orphan is not None and (orphan.customer_id, orphan.channel) == ("", "")
    tickets = TicketStore(bare)
    ticket = await tickets.create(TicketDraft(customer_id="cus_1", conversation_id="conv_1"), priority=Priority.LOW)
    delivery = await DeliveryLog(bare, tickets).record(ticket.number, purpose="status", channel="web", ok=True)
    assert [d.id for d in await DeliveryLog(bare, tickets).for_ticket(ticket.number)] == [delivery.id]
