from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import ActionCheckTicket, ActionCreateTicket, ActionServices
from intake.models import Priority, TicketDraft, TicketStatus
from intake.sla import SlaDeadlines, SlaTarget
from intake.teams import Team
from intake.tickets import TicketStore

from .conftest import DOMAIN, NOW, customs, make_tracker, slot_sets, texts

FILLED = {
    "order_number": "1000000001",
    "product": "PowerMix 900 Blender",
    "category": "delivery",
    "description": "The parcel is late",
    "urgency": "normal",
    "contact": "alex@example.com",
}


async def create(services: ActionServices, language: str = "en", **slots: Any) -> tuple[CollectingDispatcher, Any]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("alex@example.com", slots={"language": language, **FILLED, **slots})
    events = await ActionCreateTicket(services).run(dispatcher, tracker, DOMAIN)
    return dispatcher, events


async def test_a_ticket_is_created_and_the_customer_told_its_number_and_first_response_target(
    services: ActionServices, ticket_store: TicketStore
) -> None:
    dispatcher, events = await create(services)
    assert texts(dispatcher) == [
        "Thank you. I've created ticket FD-000001. We'll get back to you within 1 day (by 2024-05-07 02:00)."
    ]
    card = customs(dispatcher, "ticket")[0]
    assert card["number"] == "FD-000001" and card["priority"] == "normal" and card["first_response_due"] == NOW + 86400
    assert customs(dispatcher, "handoff") == []
    stored = await ticket_store.get("FD-000001", customer_id="cust-1")
    assert stored is not None and stored.conversation_id == "conv-1" and stored.order_number == "1000000001"
    reset = slot_sets(events)
    assert reset["order_number"] is None and reset["form_stuck"] is False and "contact" not in reset


async def test_the_confirmation_is_in_chinese_for_chinese_customers(services: ActionServices) -> None:
    dispatcher, _ = await create(services, "zh", urgency="high")
    assert texts(dispatcher)[0].startswith("谢谢您。已为您创建工单 FD-000001。我们会在4 小时内")


@pytest.mark.parametrize(
    ("slots", "reason", "priority"),
    [
        ({"urgency": "urgent", "description": "the kettle caught fire"}, "urgent_category", "urgent"),
        ({"category": "service_complaint"}, "complaint", "high"),
        ({"form_stuck": True, "order_number": None}, "form_stuck", "normal"),
        ({"description": "I will call my lawyer", "category": "billing"}, None, "high"),
    ],
)
async def test_urgent_complaint_and_stuck_tickets_also_go_to_a_human_with_the_ticket_number(
    services: ActionServices, slots: dict[str, Any], reason: str | None, priority: str
) -> None:
    dispatcher, _ = await create(services, **slots)
    assert customs(dispatcher, "ticket")[0]["priority"] == priority
    handoffs = customs(dispatcher, "handoff")
    if reason is None:
        assert handoffs == []
        return
    assert handoffs[0]["reason"] == reason and handoffs[0]["ticket"] == "FD-000001"
    assert handoffs[0]["priority"] == priority and handoffs[0]["fields"]["contact"] == "alex@example.com"
    assert texts(dispatcher)[-1].startswith("Because this needs attention soon")


async def test_a_vip_customer_gets_a_higher_priority(services: ActionServices) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("x", metadata={"customer_id": "vip-1"}, slots=FILLED)
    await ActionCreateTicket(services).run(dispatcher, tracker, DOMAIN)
    assert customs(dispatcher, "ticket")[0]["priority"] == "high"


async def test_a_store_failure_hands_off_as_a_bot_error_and_keeps_the_fields(services: ActionServices) -> None:
    class Broken:
        async def create(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("db down")

    services.tickets = Broken()  # type: ignore[assignment]
    dispatcher, _ = await create(services)
    handoff = customs(dispatcher, "handoff")[0]
    assert handoff["reason"] == "bot_error" and handoff["fields"]["order_number"] == "1000000001"
    assert texts(dispatcher)[0].startswith("Sorry, I couldn't save your ticket")


async def seed(store: TicketStore, customer: str, status: TicketStatus | None = None) -> str:
    ticket = await store.create(
        TicketDraft(customer_id=customer, product="Kettle", description="leaks"),
        priority=Priority.HIGH,
        deadlines=SlaDeadlines(NOW + 3600, NOW + 7200),
    )
    if status:
        await store.transition(ticket.number, status, actor="agent:1")
    return ticket.number


async def check(services: ActionServices, text: str, **kwargs: Any) -> CollectingDispatcher:
    dispatcher = CollectingDispatcher()
    events = await ActionCheckTicket(services).run(
        dispatcher, make_tracker(text, intent="check_ticket", **kwargs), DOMAIN
    )
    assert slot_sets(events) == {"ticket_number": None}
    return dispatcher


async def test_a_customer_sees_the_status_of_their_own_ticket_by_number(
    services: ActionServices, ticket_store: TicketStore
) -> None:
    number = await seed(ticket_store, "cust-1", TicketStatus.OPEN)
    dispatcher = await check(services, "where is my ticket fd-000001?")
    assert texts(dispatcher) == [
        f"Ticket {number} (Kettle): in progress (priority high). Last update: 2024-05-06 02:00."
    ]
    dispatcher = await check(
        services,
        "进度",
        entities=[{"entity": "ticket_number", "value": "FD-000001"}],
        slots={"language": "zh"},
    )
    assert texts(dispatcher) == [f"工单 {number}（Kettle）：处理中（优先级：较急）。最近更新：2024-05-06 02:00。"]


async def test_the_status_answer_never_shows_an_internal_note(
    services: ActionServices, ticket_store: TicketStore
) -> None:
    number = await seed(ticket_store, "cust-1", TicketStatus.OPEN)
    await ticket_store.add_note(number, "INTERNAL: refund fraud suspected", actor="agent:1")
    await ticket_store.transition(number, TicketStatus.PENDING_INTERNAL, actor="agent:1", note="INTERNAL: ask legal")
    for text in (f"where is my ticket {number}?", "where are my tickets"):
        said = " ".join(texts(await check(services, text)))
        assert number in said and "INTERNAL" not in said, said


async def test_someone_elses_ticket_reads_as_not_found(services: ActionServices, ticket_store: TicketStore) -> None:
    await seed(ticket_store, "cust-2")
    dispatcher = await check(services, "status of FD-000001")
    assert texts(dispatcher) == ["I couldn't find ticket FD-000001 on your account. Please check the number."]


async def test_without_a_number_the_latest_open_tickets_are_listed(
    services: ActionServices, ticket_store: TicketStore
) -> None:
    await seed(ticket_store, "cust-1")
    await seed(ticket_store, "cust-1", TicketStatus.RESOLVED)
    await seed(ticket_store, "cust-2")
    await seed(ticket_store, "cust-1", TicketStatus.OPEN)
    dispatcher = await check(services, "我的工单进度", slots={"language": "zh"})
    lines = texts(dispatcher)[0].split("\n")
    assert lines[0] == "您未关闭的工单："
    assert [line.split("（")[0] for line in lines[1:]] == ["工单 FD-000004", "工单 FD-000001"]


async def test_a_customer_without_open_tickets_is_told_so(services: ActionServices) -> None:
    dispatcher = await check(services, "where are my tickets")
    assert texts(dispatcher) == ["You have no open tickets right now."]


async def test_the_promise_is_the_owning_team_s_target(services: ActionServices, ticket_store: TicketStore) -> None:
    """A team that answers faster than the default: the customer is promised that team's time, not the default's."""
    fast = Team("technical", "Technical support", ("product_fault",), targets={Priority.NORMAL: SlaTarget(0.25, 8)})
    await ticket_store.teams.put(fast)
    dispatcher, _ = await create(services, category="product_fault")
    assert texts(dispatcher) == [
        "Thank you. I've created ticket FD-000001. We'll get back to you within 15 minutes (by 2024-05-06 02:15)."
    ]
    stored = await ticket_store.get("FD-000001", customer_id="cust-1")
    assert stored is not None and stored.team_id == "technical" and stored.first_response_due == NOW + 900
