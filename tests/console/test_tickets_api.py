"""Staff list tickets and move them along the lifecycle; the customer hears of each change in their conversation."""

from __future__ import annotations

import time

from bot.keys import CONVERSATIONS, TICKETS
from intake.models import Category, Priority, TicketDraft, Urgency
from intake.sla import SlaDeadlines
from staff.auth import Role
from tests.console.conftest import Running


async def make_ticket(running: Running, conversation_id: str, language: str) -> str:
    store = running.app[TICKETS]
    conversation = await running.app[CONVERSATIONS].get_conversation(conversation_id)
    now = time.time()
    ticket = await store.create(
        TicketDraft(
            customer_id=conversation.customer_id,
            conversation_id=conversation_id,
            order_number="1234567890",
            product="blender",
            category=Category.PRODUCT_FAULT,
            description="arrived broken",
            urgency=Urgency.HIGH,
            contact="a@example.com",
            language=language,
        ),
        priority=Priority.HIGH,
        deadlines=SlaDeadlines(now + 4 * 3600, now + 24 * 3600),
    )
    return ticket.number


async def test_an_agent_lists_a_ticket_and_the_customer_hears_of_its_progress(running: Running) -> None:
    customer = await running.customer("zh")
    number = await make_ticket(running, customer.conversation_id, "zh")
    ann = await running.staff("ann", Role.AGENT)
    async with ann.session.get("/api/v1/tickets", params={"status": "new"}) as response:
        listed = (await response.json())["tickets"]
    assert response.status == 200 and [t["number"] for t in listed] == [number]
    assert listed[0]["priority"] == "high" and listed[0]["first_response_due"] > time.time()

    async with ann.session.post(f"/api/v1/tickets/{number}/status", json={"status": "open"}) as response:
        assert response.status == 200
    notice = await customer.wait_for(lambda m: m["sender"] == "system" and number in m["text"])
    assert "处理中" in notice["text"]

    async with ann.session.get(f"/api/v1/tickets/{number}") as response:
        body = await response.json()
    assert [h["data"]["to"] for h in body["timeline"]] == ["new", "open"]
    assert body["timeline"][1]["actor"] == "ann"


async def test_illegal_moves_unknown_tickets_and_strangers_get_clear_errors(running: Running) -> None:
    customer = await running.customer("en")
    number = await make_ticket(running, customer.conversation_id, "en")
    ann = await running.staff("ann", Role.AGENT)
    for note in ("nul \x00", "lone \ud800"):
        body = {"status": "closed", "note": note}
        async with ann.session.post(f"/api/v1/tickets/{number}/status", json=body) as response:
            assert response.status == 400 and (await response.json())["error"]["code"] == "bad_note"
    async with ann.session.post(f"/api/v1/tickets/{number}/status", json={"status": "closed"}) as response:
        assert response.status == 200
    async with ann.session.post(f"/api/v1/tickets/{number}/status", json={"status": "open"}) as response:
        assert response.status == 400 and (await response.json())["error"]["code"] == "illegal_transition"
    async with ann.session.post(f"/api/v1/tickets/{number}/status", json={"status": "done"}) as response:
        assert response.status == 400
    async with ann.session.post("/api/v1/tickets/FD-999999/status", json={"status": "open"}) as response:
        assert response.status == 404
    async with ann.session.get("/api/v1/tickets", params={"priority": "sky-high"}) as response:
        assert response.status == 400
    eve = await running.staff("eve", Role.EDITOR)
    async with eve.session.get("/api/v1/tickets") as response:
        assert response.status == 403
    async with customer.session.get("/api/v1/tickets") as response:
        assert response.status == 401
