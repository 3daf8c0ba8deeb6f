"""Writing the demo history: facts through the record, transcripts that open, nothing written twice, and
`frontdoor demo history` refusing to seed a second time unless forced."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backends.sql import Database
from conversations.store import ConversationStore
from conversations.tables import conversations, customers, messages
from demo.history import DemoOptions
from demo.seed import has_demo_history, record_is_empty, remove_demo_history, write_demo_history
from intake.models import EventKind, TicketStatus
from intake.tickets import TicketStore
from record import EventQuery, SQLServiceRecord
from record.tables import service_events
from server.cli import main

END = 1_764_300_000.0


async def count(db: Database, table: object) -> int:
    return int(await db.fetchval(select(func.count()).select_from(table)))  # type: ignore[arg-type]


async def test_the_history_lands_in_the_record_and_the_transcripts(database: Database) -> None:
    assert await record_is_empty(database) and not await has_demo_history(database)
    summary = await write_demo_history(database, DemoOptions(end=END, days=3, per_day=20, seed=3))
    assert summary.conversations > 20 and summary.tickets > 0
    assert await count(database, service_events) == summary.events
    assert await count(database, conversations) == summary.conversations
    assert await count(database, messages) == summary.messages
    assert await count(database, customers) == summary.customers
    assert await has_demo_history(database) and not await record_is_empty(database)

    # A drill-down row's conversation opens with its transcript, through the product's own store.
    handed = await SQLServiceRecord(database).read(EventQuery(kinds=["agent_reply"]), limit=1)
    conversation_id = handed[0].conversation_id
    assert conversation_id is not None
    store = ConversationStore(database)
    transcript = await store.history(conversation_id)
    assert any(m.sender.value == "agent" for m in transcript)
    assert (await store.get_conversation(conversation_id)).created_at < handed[0].at

    # So does a ticket's, with its timeline, in the state its facts say.
    resolved = await SQLServiceRecord(database).read(EventQuery(kinds=["ticket_resolved"]), limit=1)
    assert resolved[0].ticket is not None and resolved[0].ticket.startswith("DEMO-")
    tickets = TicketStore(database)
    ticket = await tickets.get_for_staff(resolved[0].ticket)
    assert ticket is not None
    assert ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.OPEN)
    assert ticket.first_responded_at is not None and ticket.first_responded_at <= resolved[0].at
    assert ticket.sla_next_check is None  # the SLA watcher leaves demo tickets alone
    timeline = await tickets.timeline(ticket.number)
    assert timeline[0].kind is EventKind.CREATED
    assert any(e.kind is EventKind.REPLY and e.body for e in timeline)

    assert await remove_demo_history(database) == summary.events
    assert await record_is_empty(database)
    assert await count(database, conversations) == 0 and await count(database, customers) == 0
    assert await tickets.get_for_staff(ticket.number) is None


def test_the_command_refuses_a_second_history_unless_forced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FD_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("FD_DATABASE_URL", f"sqlite:///{tmp_path / 'fd.db'}")
    assert main(["demo", "history", "--days", "2", "--per-day", "5"]) == 0
    assert "demo history of 2 days written" in capsys.readouterr().out
    with sqlite3.connect(tmp_path / "fd.db") as conn:
        (first,) = conn.execute("SELECT count(*) FROM service_events").fetchone()
    assert first > 0

    assert main(["demo", "history", "--days", "2", "--per-day", "5"]) == 1
    assert "--force" in capsys.readouterr().err

    assert main(["demo", "history", "--days", "2", "--per-day", "5", "--force"]) == 0
    with sqlite3.connect(tmp_path / "fd.db") as conn:
        (again,) = conn.execute("SELECT count(*) FROM service_events").fetchone()
        (demo,) = conn.execute("SELECT count(*) FROM service_events WHERE conversation_id LIKE 'demo-%'").fetchone()
    assert again == demo and 0 < again < 2 * first  # replaced, not added


def test_the_command_rejects_a_bad_number_of_days(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "history", "--days", "0"])
    assert exit_.value.code == 2
    assert "at least 1" in capsys.readouterr().err
