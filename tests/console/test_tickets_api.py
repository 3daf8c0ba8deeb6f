"""The staff ticket and team API over HTTP: search, filters and saved views; internal notes that never reach the
customer and replies that do; the workflow's refusals as clear 4xx codes; transfer, merge, the FAQ draft, tickets
made from console chats, and who may change teams."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.handoff_bridge import HANDOFF
from bot.keys import CONVERSATIONS, CUSTOMERS, TICKETS
from conversations.profile import checked_changes
from intake.models import Category, Priority, TicketDraft
from intake.sla_watch import SlaWatcher
from staff.auth import Role
from tests.console.conftest import EVENT_TIMEOUT_S, Running, Staff


@pytest.fixture(params=["memory"])
def backend(request: pytest.FixtureRequest) -> str:
    """Tickets live in SQL; the handoff backend does not change what these endpoints do."""
    return ""


async def call(staff: Staff, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with staff.session.request(method, path, json=body) as response:
        return response.status, await response.json()


async def teams(running: Running) -> tuple[Staff, Staff, Staff]:
    """ann (support, technical), bob (support) and sam the supervisor, who sets the teams up through the API."""
    ann = await running.staff("ann", Role.AGENT, display_name="Ann")
    bob = await running.staff("bob", Role.AGENT, display_name="Bob")
    sam = await running.staff("sam", Role.SUPERVISOR, display_name="Sam")
    support = {"name": "Support", "skills": ["general"], "lead": "sam", "members": ["ann", "bob"], "targets": {}}
    technical = {"name": "Technical", "skills": ["product_fault"], "lead": None, "members": ["ann"], "targets": {}}
    assert (await call(sam, "PUT", "/api/v1/teams/support", support))[0] == 200
    assert (await call(sam, "PUT", "/api/v1/teams/technical", technical | {"targets": {"urgent": "0.5/4"}}))[0] == 200
    return ann, bob, sam


async def ticket(
    running: Running,
    *,
    customer_id: str = "cust-1",
    conversation_id: str = "",
    category: Category = Category.PRODUCT_FAULT,
    priority: Priority = Priority.NORMAL,
    team_id: str | None = "support",
    channel: str = "web",
    order_number: str | None = None,
    description: str = "arrived broken",
    language: str = "en",
) -> str:
    draft = TicketDraft(
        customer_id=customer_id,
        conversation_id=conversation_id,
        order_number=order_number,
        category=category,
        description=description,
        language=language,
    )
    created = await running.app[TICKETS].create(draft, priority=priority, team_id=team_id, channel=channel)
    return created.number


async def assigned_to(running: Running, conversation_id: str, agent: str) -> None:
    async with asyncio.timeout(EVENT_TIMEOUT_S):
        while True:
            record = await running.app[HANDOFF].state_of(conversation_id)
            if record is not None and record.agent_id == agent:
                return
            await asyncio.sleep(0.05)


async def listed(staff: Staff, **params: str) -> list[str]:
    async with staff.session.get("/api/v1/tickets", params=params) as response:
        assert response.status == 200, await response.text()
        return [t["number"] for t in (await response.json())["tickets"]]


async def test_an_agent_finds_tickets_by_text_filters_views_and_next_deadline(running: Running) -> None:
    ann, bob, _ = await teams(running)
    urgent = await ticket(
        running, order_number="1234567890", priority=Priority.URGENT, team_id="technical", channel="wechat"
    )
    slow = await ticket(running, customer_id="cust-2", category=Category.DELIVERY, priority=Priority.LOW)
    mine = await ticket(running, customer_id="cust-3", category=Category.BILLING, description="Charged TWICE")
    assert (await call(bob, "POST", f"/api/v1/tickets/{mine}/assign", {"assignee": "ann"}))[0] == 200

    assert await listed(ann) == [urgent, mine, slow]  # sorted by the nearest running deadline
    assert await listed(ann, sort="newest") == [mine, slow, urgent]
    assert await listed(ann, q="1234567890") == [urgent]
    assert await listed(ann, q=urgent.lower()) == [urgent]
    assert await listed(ann, q="cust-2") == [slow]
    assert await listed(ann, q="charged twice") == [mine]
    assert await listed(ann, status="new,open", priority="urgent") == [urgent]
    assert await listed(ann, category="delivery,billing", sort="newest") == [mine, slow]
    assert await listed(ann, team="technical") == [urgent]
    assert await listed(bob, team="mine") == [mine, slow]
    assert await listed(ann, assignee="me") == [mine]
    assert await listed(ann, assignee="none") == [urgent, slow]
    assert await listed(ann, channel="wechat") == [urgent]
    assert await listed(ann, breached="1") == []
    assert await listed(ann, limit="1", offset="1") == [mine]

    # Every write asks the SLA watcher to look again; once it has, none of these is near a deadline.
    await SlaWatcher(running.app[TICKETS]).run_pass()
    async with ann.session.get("/api/v1/tickets", params={"limit": "1"}) as response:
        body = await response.json()
    assert body["total"] == 3
    assert body["views"] == {"mine": 1, "my_team": 3, "unassigned": 2, "at_risk": 0, "breached": 0}
    first = body["tickets"][0]
    assert first["team_id"] == "technical" and first["channel"] == "wechat"
    clocks = {c["metric"]: c for c in first["sla"]["clocks"]}
    first_response = clocks["first_response"]
    assert first_response["running"] and first_response["warning_at"] < first_response["due"]
    # The technical team's own urgent target (30 minutes) set the deadline, not the policy's hour.
    assert first_response["due"] - first["created_at"] == pytest.approx(1800, abs=5)


async def test_the_list_and_the_ticket_name_their_customers(running: Running) -> None:
    ann, _, _ = await teams(running)
    alex, _ = await running.app[CONVERSATIONS].customer_for_identity("web", "visitor-alex")
    await running.app[CUSTOMERS].update(alex.id, checked_changes({"display_name": "Alex Chen"}))
    named = await ticket(running, customer_id=alex.id)
    unnamed = await ticket(running, customer_id="cust-unnamed")
    async with ann.session.get("/api/v1/tickets") as response:
        body = await response.json()
    assert body["customers"] == {alex.id: "Alex Chen"}  # the page shows the id where there is no name
    for number, name in ((named, "Alex Chen"), (unnamed, "")):
        async with ann.session.get(f"/api/v1/tickets/{number}") as response:
            assert (await response.json())["customer_name"] == name


async def test_internal_notes_never_reach_the_customer_and_replies_do(running: Running) -> None:
    ann, _, _ = await teams(running)
    customer = await running.customer("en")
    conversation = await running.app[CONVERSATIONS].get_conversation(customer.conversation_id)
    number = await ticket(running, customer_id=conversation.customer_id, conversation_id=customer.conversation_id)

    status, note = await call(ann, "POST", f"/api/v1/tickets/{number}/notes", {"body": "supplier says lot 7 is bad"})
    assert status == 201 and note["event"]["kind"] == "note" and note["event"]["public"] is False
    status, reply = await call(ann, "POST", f"/api/v1/tickets/{number}/replies", {"body": "A new one is on its way."})
    assert status == 201 and reply["event"]["public"] is True

    await customer.wait_for(lambda m: m["sender"] == "agent" and m["text"] == "A new one is on its way.")
    assert not any("lot 7" in m["text"] for m in await customer.history())
    status, body = await call(ann, "GET", f"/api/v1/tickets/{number}")
    kinds = [(e["kind"], e["public"]) for e in body["timeline"]]
    assert kinds == [("created", True), ("note", False), ("status", False), ("reply", True)]
    assert body["ticket"]["status"] == "open"  # the first public reply opened it
    assert body["allowed"] == ["pending_customer", "pending_internal", "resolved", "closed"]
    assert [t["conversation_id"] for t in body["transcripts"]] == [customer.conversation_id]
    assert {t["id"] for t in body["teams"]} == {"support", "technical"}
    assert [a["username"] for a in body["agents"]] == ["ann", "bob", "sam"]  # a supervisor works tickets too
    clocks = {c["metric"]: c for c in body["ticket"]["sla"]["clocks"]}
    assert clocks["first_response"]["met_at"] is not None


async def test_the_workflow_and_bad_requests_answer_clear_4xx_codes(running: Running) -> None:
    ann, _, _ = await teams(running)
    number = await ticket(running)
    other = await ticket(running, customer_id="cust-9")
    base = f"/api/v1/tickets/{number}"

    async def refused(method: str, path: str, body: Any, status: int, code: str) -> None:
        got, answer = await call(ann, method, path, body)
        assert (got, answer["error"]["code"]) == (status, code), (path, body, answer)

    await refused("POST", f"{base}/status", {"status": "done"}, 400, "bad_status")
    await refused("POST", f"{base}/status", {"status": "closed", "note": "nul \x00"}, 400, "bad_note")
    await refused("POST", f"{base}/notes", {"body": "x" * 2001}, 400, "too_long_body")
    await refused("POST", f"{base}/notes", {"body": "  "}, 400, "empty_body")
    await refused("POST", f"{base}/transfer", {"team": "nowhere", "reason": "?"}, 400, "unknown_team")
    await refused("POST", f"{base}/transfer", {"team": "support", "reason": "same"}, 400, "invalid_change")
    await refused("POST", f"{base}/transfer", {"team": "technical", "reason": ""}, 400, "empty_reason")
    await refused("POST", f"{base}/assign", {"assignee": "mallory"}, 400, "unknown_assignee")
    await refused("POST", f"{base}/merge", {"into": number}, 400, "invalid_change")
    await refused("POST", f"{base}/merge", {"into": other}, 400, "invalid_change")  # another customer's
    await refused("POST", f"{base}/merge", {"into": "FD-999999"}, 404, "not_found")
    await refused("POST", "/api/v1/tickets/FD-999999/notes", {"body": "hello"}, 404, "not_found")
    await refused("POST", "/api/v1/tickets/FD-999999/status", {"status": "open"}, 404, "not_found")
    await refused("GET", "/api/v1/tickets/FD-999999", None, 404, "not_found")
    await refused("GET", "/api/v1/tickets?priority=sky-high", None, 400, "bad_priority")
    await refused("GET", "/api/v1/tickets?sort=random", None, 400, "bad_sort")
    # Nothing half-changed: every refusal left the ticket and its timeline as they were.
    _, unchanged = await call(ann, "GET", base)
    assert [e["kind"] for e in unchanged["timeline"]] == ["created"]
    assert (unchanged["ticket"]["status"], unchanged["ticket"]["team_id"], unchanged["ticket"]["assignee"]) == (
        "new",
        "support",
        None,
    )

    assert (await call(ann, "POST", f"{base}/status", {"status": "resolved", "note": "fixed"}))[0] == 200
    await refused("POST", f"{base}/status", {"status": "pending_customer"}, 409, "illegal_transition")
    status, body = await call(ann, "POST", f"{base}/status", {"status": "closed"})
    assert status == 200 and body["allowed"] == []
    await refused("POST", f"{base}/status", {"status": "open"}, 409, "illegal_transition")
    await refused("POST", f"{base}/replies", {"body": "too late"}, 400, "invalid_change")

    eve = await running.staff("eve", Role.EDITOR)
    assert (await call(eve, "GET", "/api/v1/tickets"))[0] == 403
    async with ann.session.post(
        f"/api/v1/tickets/{other}/notes", json={"body": "x"}, headers={"Origin": "https://evil.example"}
    ) as response:
        assert response.status == 403
    customer = await running.customer("en")
    async with customer.session.get("/api/v1/tickets") as response:
        assert response.status == 401


async def test_transfer_records_who_when_and_why_and_merge_closes_the_duplicate(running: Running) -> None:
    ann, bob, _ = await teams(running)
    number = await ticket(running)
    duplicate = await ticket(running, description="still broken")
    _, before = await call(ann, "GET", f"/api/v1/tickets/{number}")

    status, body = await call(
        bob, "POST", f"/api/v1/tickets/{number}/transfer", {"team": "technical", "reason": "a fault"}
    )
    assert status == 200 and body["ticket"]["team_id"] == "technical"
    clocks = {c["metric"]: c for c in body["ticket"]["sla"]["clocks"]}
    # The receiving team owes the first response, its clock starting at the transfer.
    assert clocks["first_response"]["running"] and "next_reply" not in clocks
    assert body["ticket"]["first_response_due"] > before["ticket"]["first_response_due"]

    status, body = await call(ann, "POST", f"/api/v1/tickets/{duplicate}/merge", {"into": number})
    assert status == 200 and body["ticket"]["number"] == number
    _, source = await call(ann, "GET", f"/api/v1/tickets/{duplicate}")
    assert source["ticket"]["status"] == "closed" and source["ticket"]["merged_into"] == number
    _, target = await call(ann, "GET", f"/api/v1/tickets/{number}")
    moved = next(e for e in target["timeline"] if e["kind"] == "transferred")
    assert (moved["actor"], moved["body"], moved["data"]["from"], moved["data"]["to"]) == (
        "bob",
        "a fault",
        "support",
        "technical",
    )
    assert moved["at"] > 0
    merged = next(e for e in target["timeline"] if e["kind"] == "merged_from")
    assert merged["data"]["from"] == duplicate and merged["actor"] == "ann"


async def test_a_resolution_saved_as_faq_draft_lands_in_the_editors_review_list(running: Running) -> None:
    ann, _, _ = await teams(running)
    number = await ticket(running, description="How do I descale the kettle?")
    assert (await call(ann, "POST", f"/api/v1/tickets/{number}/status", {"status": "resolved"}))[0] == 200
    body = {"question": "How do I descale the kettle?", "answer": "Boil water with vinegar, then rinse twice."}
    status, saved = await call(ann, "POST", f"/api/v1/tickets/{number}/faq-draft", body)
    assert status == 201 and saved["faq_draft"]["saved"] is True
    eve = await running.staff("eve", Role.EDITOR)
    _, drafts = await call(eve, "GET", "/api/v1/kb/entries?status=draft")
    assert [e["question"] for e in drafts["entries"]] == ["How do I descale the kettle?"]
    status, error = await call(ann, "POST", f"/api/v1/tickets/{number}/faq-draft", body | {"question": "q" * 301})
    assert status == 400 and error["error"]["code"] == "too_long_question"


async def test_an_agent_makes_a_ticket_of_their_console_chat_with_its_transcript(running: Running) -> None:
    ann, _, _ = await teams(running)
    assert (await ann.call("POST", "/presence", {"presence": "online"}))[0] == 200
    customer = await running.customer("en")
    await customer.say("I want a human")
    await assigned_to(running, customer.conversation_id, "ann")
    cid = customer.conversation_id
    status, body = await call(ann, "POST", f"/api/v1/console/conversations/{cid}/ticket", {"category": "product_fault"})
    assert status == 201, body
    created = body["ticket"]
    assert created["conversation_id"] == cid and created["team_id"] == "technical"
    assert created["description"] == "I want a human" and created["channel"] == "web"
    _, read = await call(ann, "GET", f"/api/v1/tickets/{created['number']}")
    assert [e["kind"] for e in read["timeline"]] == ["created", "linked_conversation"]
    assert any(m["text"] == "I want a human" for m in read["transcripts"][0]["messages"])
    # The case card names the chat's ticket (it showed "–" for a ticket made in the chat rather than by the handoff).
    _, card = await call(ann, "GET", f"/api/v1/console/conversations/{cid}")
    assert card["handoff_ticket"] == created["number"]

    bob = await running.staff("bob2", Role.AGENT)
    status, _ = await call(bob, "POST", f"/api/v1/console/conversations/{cid}/ticket", {})
    assert status == 403  # not his chat


async def test_agents_read_teams_and_only_supervisors_change_them(running: Running) -> None:
    ann, _, sam = await teams(running)
    status, body = await call(ann, "GET", "/api/v1/teams")
    assert status == 200 and [t["id"] for t in body["teams"]] == ["support", "technical"]
    assert body["teams"][1]["targets"] == {"urgent": "0.5/4"} and body["defaults"]["urgent"] == "1/4"
    assert "product_fault" in body["skills"] and [a["username"] for a in body["agents"]] == ["ann", "bob", "sam"]
    team = {"name": "Billing", "skills": ["billing"], "lead": "ann", "members": ["bob"], "targets": {"high": "2/8/1"}}
    assert (await call(ann, "PUT", "/api/v1/teams/billing", team))[0] == 403
    status, saved = await call(sam, "PUT", "/api/v1/teams/billing", team)
    assert status == 200 and saved["team"]["members"] == ["ann", "bob"]  # the lead is a member
    assert (await call(ann, "GET", "/api/v1/teams/billing"))[1]["team"]["targets"] == {"high": "2/8/1"}

    for bad, code in [
        ({"skills": ["astrology"]}, "bad_skills"),
        ({"members": ["mallory"]}, "unknown_member"),
        ({"targets": {"high": "soon"}}, "invalid_team"),
        ({"targets": {"someday": "1/2"}}, "invalid_team"),
        ({"name": ""}, "empty_name"),
    ]:
        status, error = await call(sam, "PUT", "/api/v1/teams/billing", team | bad)
        assert (status, error["error"]["code"]) == (400, code), bad
    status, error = await call(sam, "PUT", "/api/v1/teams/Not A Slug", team)
    assert (status, error["error"]["code"]) == (400, "invalid_team")

    await ticket(running, team_id="billing")
    status, error = await call(sam, "DELETE", "/api/v1/teams/billing")
    assert (status, error["error"]["code"]) == (409, "team_in_use")
    assert (await call(sam, "DELETE", "/api/v1/teams/technical"))[0] == 200
    assert (await call(sam, "DELETE", "/api/v1/teams/technical"))[0] == 404
    assert (await call(ann, "GET", "/api/v1/teams/technical"))[0] == 404
