"""Fakes and tracker builders for the action tests: no Rasa server, no HTTP.

Services are real where cheap (TicketStore on a SQLite file, the demo order set, handoff's HandoffPolicy) and
scripted where the real one is someone else's (the knowledge base).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.feedback import MemoryFeedbackRecorder
from actions.services import ActionServices, ActionSettings
from backends.sql import open_database
from conversations.models import Customer
from handoff.triggers import HandoffPolicy
from intake.orders import DemoOrderLookup
from intake.tickets import TicketStore
from kb.decision import Candidate, Decision, KBResult
from migrations import upgrade_database

NOW = 1_714_960_800.0  # 2024-05-06 02:00 UTC, a Monday

# The contract's order; the validation action asks the description before the category.
FORM_SLOTS = ["order_number", "product", "category", "description", "urgency", "contact"]
DOMAIN: dict[str, Any] = {
    "forms": {"issue_form": {"required_slots": FORM_SLOTS}},
    "slots": {s: {"type": "text", "mappings": [{"type": "from_text"}]} for s in FORM_SLOTS},
}


def candidate(entry_id: str, question: str, answer: str, confidence: float) -> Candidate:
    return Candidate(entry_id, question, answer, "faq", confidence, confidence, confidence, question)


class ScriptedKB:
    """Returns the next scripted result (or raises it), recording each query."""

    def __init__(self) -> None:
        self.results: list[KBResult | Exception] = []
        self.queries: list[tuple[str, str]] = []

    async def search(self, query: str, language: str) -> KBResult:
        self.queries.append((query, language))
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result


def kb_result(decision: Decision, *candidates: Candidate, query: str = "q", language: str = "en") -> KBResult:
    confidence = candidates[0].confidence if candidates else 0.1
    return KBResult(query, language, decision, confidence, list(candidates))


class Customers:
    def __init__(self, *customers: Customer) -> None:
        self._by_id = {c.id: c for c in customers}

    async def get_customer(self, customer_id: str) -> Customer:
        if customer_id not in self._by_id:
            raise LookupError(customer_id)
        return self._by_id[customer_id]


@pytest.fixture
def kb() -> ScriptedKB:
    return ScriptedKB()


@pytest.fixture
async def ticket_store(tmp_path: Path) -> AsyncIterator[TicketStore]:
    db = await open_database(f"sqlite:///{tmp_path / 'tickets.db'}")
    await upgrade_database(db)
    store = TicketStore(db, clock=lambda: NOW)
    try:
        yield store
    finally:
        await db.close()


@pytest.fixture
def feedback() -> MemoryFeedbackRecorder:
    return MemoryFeedbackRecorder()


@pytest.fixture
def services(kb: ScriptedKB, ticket_store: TicketStore, feedback: MemoryFeedbackRecorder) -> ActionServices:
    return ActionServices(
        knowledge_base=kb,
        tickets=ticket_store,
        orders=DemoOrderLookup(),
        handoff_policy=HandoffPolicy(),
        feedback=feedback,
        settings=ActionSettings(),
        customers=Customers(
            Customer("vip-1", tier="vip", email="vip@example.com"), Customer("plain-1", phone="+8613800138000")
        ),
        clock=lambda: NOW,
    )


def user_event(
    text: str,
    intent: str = "inform",
    entities: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.95}, "entities": entities or []}
    return {"event": "user", "text": text, "parse_data": parse, "metadata": metadata or {}}


def bot_event(custom: dict[str, Any] | None = None, text: str | None = None) -> dict[str, Any]:
    return {"event": "bot", "text": text, "data": {"custom": custom} if custom else {}}


def make_tracker(
    text: str,
    *,
    intent: str = "inform",
    confidence: float = 0.95,
    entities: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    slots: dict[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
    candidates: dict[str, Any] | None = None,
    active_loop: str | None = None,
    sender_id: str = "conv-1",
) -> Tracker:
    """A tracker as Rasa sends it: earlier events, this user message, then this turn's slot candidates."""
    metadata = {"customer_id": "cust-1", **(metadata or {})}
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
        "metadata": metadata,
    }
    events = [*(history or []), {**user_event(text, intent, entities, metadata), "parse_data": latest}]
    all_slots = {"language": None, "form_stuck": False, "form_retries": None, "requested_slot": None, **(slots or {})}
    for name, value in (candidates or {}).items():
        events.append({"event": "slot", "name": name, "value": value})
        all_slots[name] = value
    return Tracker(
        sender_id,
        all_slots,
        latest,
        events,
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


def texts(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["text"] for m in dispatcher.messages if m.get("text")]


def customs(dispatcher: CollectingDispatcher, key: str) -> list[dict[str, Any]]:
    return [m["custom"][key] for m in dispatcher.messages if m.get("custom") and key in m["custom"]]


def buttons(dispatcher: CollectingDispatcher) -> list[dict[str, str]]:
    return [b for m in dispatcher.messages for b in m.get("buttons") or []]


def slot_sets(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


TrackerFactory = Callable[..., Tracker]
