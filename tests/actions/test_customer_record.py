"""The issue form and the customer record, on real stores (SQLite) and the real order adapter talking to the demo
order service on loopback: a proof links the website customer's identities, the same proof on WeChat makes the two
one record, and what the record knows is never asked again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import ActionCreateTicket, ActionServices, ValidateIssueForm
from actions.feedback import MemoryFeedbackRecorder
from actions.services import ActionSettings
from backends.sql import Database, open_database
from conversations.customers import CustomerRecords
from conversations.identity import IdentityKey
from conversations.models import MergeReason
from conversations.store import ConversationStore
from handoff.triggers import HandoffPolicy
from intake.orders import HttpOrderLookup
from intake.tickets import TicketStore
from migrations import upgrade_database
from server.demo_orders import demo_order_service

from .conftest import DOMAIN, NOW, ScriptedKB, make_tracker, slot_sets, texts

ALEX_ORDER = "1000000001"  # Alex Chen's blender (intake.orders.DEMO_ORDERS): phone +86 138 0013 8001


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(f"sqlite:///{tmp_path / 'frontdoor.db'}")
    await upgrade_database(database)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def orders() -> AsyncIterator[HttpOrderLookup]:
    async with demo_order_service() as url, aiohttp.ClientSession() as session:
        yield HttpOrderLookup(session, url, timeout_s=2)


@pytest.fixture
def store(db: Database) -> ConversationStore:
    return ConversationStore(db, clock=lambda: NOW)


@pytest.fixture
def tickets(db: Database) -> TicketStore:
    return TicketStore(db, clock=lambda: NOW)


@pytest.fixture
def records(db: Database, tickets: TicketStore) -> CustomerRecords:
    return CustomerRecords(db, movers={"tickets": tickets}, clock=lambda: NOW)


@pytest.fixture
def services(
    store: ConversationStore, records: CustomerRecords, tickets: TicketStore, orders: HttpOrderLookup
) -> ActionServices:
    return ActionServices(
        knowledge_base=ScriptedKB(),
        tickets=tickets,
        orders=orders,
        handoff_policy=HandoffPolicy(),
        feedback=MemoryFeedbackRecorder(),
        settings=ActionSettings(),
        customers=store,
        records=records,
        clock=lambda: NOW,
    )


async def turn(
    services: ActionServices, customer_id: str, slot: str, text: str, **slots: Any
) -> tuple[list[str], dict[str, Any]]:
    """The customer answers the form's question for `slot`; returns what the bot said and the slots it set."""
    tracker = make_tracker(
        text,
        metadata={"customer_id": customer_id},
        slots={"requested_slot": slot, "language": "en", **slots},
        candidates={slot: text},
        active_loop="issue_form",
    )
    dispatcher = CollectingDispatcher()
    events = await ValidateIssueForm(services).run(dispatcher, tracker, DOMAIN)
    return texts(dispatcher), slot_sets(events)


async def test_a_customer_on_the_website_and_on_wechat_becomes_one_record_through_their_order(
    services: ActionServices, store: ConversationStore, records: CustomerRecords, tickets: TicketStore
) -> None:
    web, _ = await store.customer_for_identity("web", "visitor-hash")
    said, slots = await turn(services, web.id, "order_number", ALEX_ORDER)
    assert "product" not in slots and said == []  # not proven yet: the order's product stays private
    said, slots = await turn(services, web.id, "contact", "+86 138-0013-8001", order_number=ALEX_ORDER)
    assert slots["contact"] == "+8613800138001"
    assert said == ["Thanks, that matches order 1000000001. We'll recognise you on our other channels too."]
    assert {IdentityKey("phone", "13800138001"), IdentityKey("shop", "shop-1001")} <= await records.keys_of(web.id)

    wechat, _ = await store.customer_for_identity("wechat", "openid-alex", language="zh")
    await turn(services, wechat.id, "order_number", f"my order is {ALEX_ORDER}")
    said, _ = await turn(services, wechat.id, "contact", "13800138001", order_number=ALEX_ORDER)
    assert said == ["Thanks, that matches order 1000000001. We'll recognise you on our other channels too."]

    again, _ = await store.customer_for_identity("wechat", "openid-alex")
    assert again.id == web.id  # one record now: the WeChat identity lives on the website customer's
    (merge,) = await records.merges_into(web.id)
    assert (merge.source_id, merge.reason, merge.detail["order_number"]) == (
        wechat.id,
        MergeReason.ORDER_PROOF,
        ALEX_ORDER,
    )
    # The ticket this WeChat form files goes to the record the customer lives on, though Rasa still sends the old id.
    tracker = make_tracker(
        "13800138001",
        metadata={"customer_id": wechat.id},
        slots={"order_number": ALEX_ORDER, "description": "the blender smokes", "contact": "13800138001"},
    )
    await ActionCreateTicket(services).run(CollectingDispatcher(), tracker, DOMAIN)
    (ticket,) = await tickets.list_for_customer(web.id)
    assert ticket.order_number == ALEX_ORDER


async def test_what_the_record_knows_the_form_never_asks_again(
    services: ActionServices, store: ConversationStore, records: CustomerRecords
) -> None:
    customer, _ = await store.customer_for_identity("web", "visitor-hash")
    # The first report: the customer gives their email at the end; it is saved to their record.
    said, slots = await turn(services, customer.id, "contact", "write to Alex.Chen@example.com please")
    assert slots["contact"] == "alex.chen@example.com" and said == []
    assert (await records.get(customer.id)).email == "alex.chen@example.com"

    # The next report starts from scratch, yet the contact is filled from the record before it could be asked,
    # and with it the order number alone proves the order: its product is filled too.
    said, slots = await turn(services, customer.id, "order_number", ALEX_ORDER)
    assert slots["contact"] == "alex.chen@example.com"
    assert slots["product"] == "PowerMix 900 Blender"
    assert said == ["Thanks, that matches order 1000000001. We'll recognise you on our other channels too."]
    assert slots["requested_slot"] == "description"  # then description, category, urgency — never the contact
    _, slots = await turn(
        services,
        customer.id,
        "urgency",
        "normal",
        order_number=ALEX_ORDER,
        product="PowerMix 900 Blender",
        description="it smokes",
        category="product_fault",
    )
    assert slots["contact"] == "alex.chen@example.com" and slots.get("requested_slot") is None


async def test_an_unknown_customer_id_still_gets_a_working_form(services: ActionServices) -> None:
    said, slots = await turn(services, "cus_nobody", "contact", "13800138001", order_number=ALEX_ORDER)
    assert slots["contact"] == "13800138001" and said == []
