"""The staff API for customer records, on the whole app with the demo order service on loopback as the shop's
order system: the panel (identities, orders, past conversations with a summary, tickets, CSAT, open clocks, merges),
agents' edits and merges, and a clear 4xx for every bad request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.keys import CONVERSATIONS, CUSTOMERS, DATABASE, TICKETS
from conversations.identity import IdentityKey
from conversations.profile import MAX_TAG_CHARS, MAX_TAGS
from conversations.surveys import SurveyStore
from intake.models import Priority, TicketDraft
from intake.settings import IntakeConfig
from server.demo_orders import demo_order_service
from staff.auth import Role
from tests.console.conftest import Running, Staff, console_app, console_settings

ALEX_PROOF = [IdentityKey("phone", "13800138001"), IdentityKey("shop", "shop-1001")]


@pytest.fixture(params=["memory"])
def backend(request: pytest.FixtureRequest) -> str:
    return ""


@pytest.fixture
async def order_api() -> AsyncIterator[str]:
    async with demo_order_service() as url:
        yield url


@pytest.fixture
async def running(tmp_path: Path, rasa_url: str, backend: str, order_api: str) -> AsyncIterator[Running]:
    settings = console_settings(tmp_path, rasa_url, backend).model_copy(
        update={"intake": IntakeConfig(order_api_url=order_api, order_api_timeout_s=2)}
    )
    async with console_app(settings) as harness:
        yield harness


async def api(staff: Staff, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with staff.session.request(method, f"/api/v1/customers{path}", json=body) as response:
        return response.status, await response.json()


async def customer_of(running: Running, conversation_id: str) -> str:
    return (await running.app[CONVERSATIONS].get_conversation(conversation_id)).customer_id


async def test_the_panel_shows_the_whole_record(running: Running) -> None:
    ann = await running.staff("ann")
    chat = await running.customer("en")
    await chat.say("My blender arrived broken and smells of smoke")
    await chat.say("I want a human")  # queued: ann is not online, so the chat's first-response clock runs
    customer_id = await customer_of(running, chat.conversation_id)
    await running.app[CUSTOMERS].link_proven(customer_id, ALEX_PROOF, detail={"order_number": "1000000001"})
    ticket = await running.app[TICKETS].create(
        TicketDraft(customer_id=customer_id, conversation_id=chat.conversation_id, description="smoke"),
        priority=Priority.HIGH,
    )
    earlier = await running.customer("en")
    await earlier.say("Where is my parcel?")
    await running.app[CUSTOMERS].merge(await customer_of(running, earlier.conversation_id), customer_id, actor="bob")
    surveys = SurveyStore(running.app[DATABASE])
    survey = await surveys.ask(earlier.conversation_id, "bob")
    await surveys.rate(survey.id, 5)

    status, panel = await api(ann, "GET", f"/{customer_id}")

    assert status == 200, panel
    assert panel["customer"]["id"] == customer_id and panel["tiers"] == ["standard", "silver", "gold", "vip"]
    shown = {(i["kind"], i["display"], i["source"]) for i in panel["identities"]}
    assert ("phone", "***8001", "proof") in shown and ("shop", "shop-1001", "proof") in shown
    assert sorted(i["kind"] for i in panel["identities"]) == ["phone", "shop", "web", "web"]
    assert [o["number"] for o in panel["orders"]["items"]] == ["1000000001", "1000000005"]  # the shop's history
    summaries = {c["id"]: (c["summary"], c["ticket"]) for c in panel["past_conversations"]}
    assert summaries[chat.conversation_id] == ("My blender arrived broken and smells of smoke", ticket.number)
    assert summaries[earlier.conversation_id] == ("Where is my parcel?", None)
    assert [t["number"] for t in panel["tickets"]] == [ticket.number]
    assert panel["csat"]["count"] == 1 and panel["csat"]["average"] == 5
    clocks = {(c.get("ticket") or c.get("conversation_id"), c["metric"]) for c in panel["clocks"]}
    assert {(ticket.number, "first_response"), (ticket.number, "resolution")} <= clocks
    assert (chat.conversation_id, "chat_first_response") in clocks
    assert [m["actor"] for m in panel["merges"]] == ["bob"]

    # The old id of the merged record reads as the record it lives on.
    status, merged = await api(ann, "GET", f"/{await customer_of(running, earlier.conversation_id)}")
    assert status == 200 and merged["customer"]["id"] == customer_id


async def test_agents_edit_the_record_and_merge_two_into_one(running: Running) -> None:
    ann = await running.staff("ann")
    first, second = await running.customer("en"), await running.customer("zh")
    await second.say("还没收到货")
    keep, dupe = await customer_of(running, first.conversation_id), await customer_of(running, second.conversation_id)

    status, body = await api(ann, "PATCH", f"/{keep}", {"display_name": "王芳", "tier": "vip", "tags": ["vip-event"]})
    assert status == 200 and (body["customer"]["tier"], body["customer"]["tags"]) == ("vip", ["vip-event"])
    status, body = await api(ann, "GET", "?q=王芳")
    assert status == 200 and [c["id"] for c in body["customers"]] == [keep]

    status, body = await api(ann, "POST", f"/{dupe}/merge", {"into": keep, "note": "same phone number"})
    assert status == 200, body
    assert (body["merge"]["source_id"], body["merge"]["actor"], body["merge"]["reason"]) == (dupe, "ann", "agent")
    assert body["merge"]["moved"] == {"identities": 1, "conversations": 1, "surveys": 0, "tickets": 0}
    assert body["customer"]["id"] == keep
    assert await customer_of(running, second.conversation_id) == keep
    status, panel = await api(ann, "GET", f"/{keep}")
    assert {c["id"] for c in panel["past_conversations"]} == {first.conversation_id, second.conversation_id}
    assert panel["merges"][0]["detail"] == {"note": "same phone number"}


async def test_bad_requests_get_a_clear_4xx(running: Running) -> None:
    ann = await running.staff("ann")
    editor = await running.staff("eve", Role.EDITOR)
    first, second = await running.customer("en"), await running.customer("en")
    one, other = await customer_of(running, first.conversation_id), await customer_of(running, second.conversation_id)

    cases: list[tuple[str, str, Any, int, str]] = [
        ("GET", "/cus_nobody", None, 404, "not_found"),
        ("PATCH", "/cus_nobody", {"tier": "gold"}, 404, "not_found"),
        ("POST", f"/{one}/merge", {"into": one}, 400, "same_customer"),
        ("POST", f"/{one}/merge", {"into": "cus_nobody"}, 404, "not_found"),
        ("POST", "/cus_nobody/merge", {"into": one}, 404, "not_found"),
        ("POST", f"/{one}/merge", {}, 400, "empty_into"),
        ("PATCH", f"/{one}", {"tags": ["x" * (MAX_TAG_CHARS + 1)]}, 413, "too_large"),
        ("PATCH", f"/{one}", {"tags": [f"t{i}" for i in range(MAX_TAGS + 1)]}, 400, "bad_tags"),
        ("PATCH", f"/{one}", {"tags": "vip"}, 400, "bad_tags"),
        ("PATCH", f"/{one}", {"tier": "diamond"}, 400, "bad_tier"),
        ("PATCH", f"/{one}", {"email": "nope"}, 400, "bad_email"),
        ("PATCH", f"/{one}", {"display_name": "<b>\u0000</b>"}, 400, "bad_display_name"),
        ("PATCH", f"/{one}", {"id": "cus_other"}, 400, "bad_id"),
        ("GET", "?q=", None, 400, "empty_q"),
    ]
    for method, path, body, status, code in cases:
        got, answer = await api(ann, method, path, body)
        assert (got, answer["error"]["code"]) == (status, code), (method, path, body, answer)

    assert (await api(ann, "POST", f"/{other}/merge", {"into": one}))[0] == 200
    for method, path, body in (("PATCH", f"/{other}", {"tier": "vip"}), ("POST", f"/{one}/merge", {"into": other})):
        got, answer = await api(ann, method, path, body)
        assert (got, answer["error"]["code"]) == (409, "merged") and one in answer["error"]["message"]
    assert (await api(editor, "GET", f"/{one}"))[0] == 403
    async with (
        aiohttp.ClientSession(base_url=running.url) as anonymous,
        anonymous.get(f"/api/v1/customers/{one}") as response,
    ):
        assert response.status == 401


async def test_the_panel_stays_up_when_the_order_system_does_not_answer(
    tmp_path: Path, rasa_url: str, backend: str
) -> None:
    settings = console_settings(tmp_path, rasa_url, backend).model_copy(
        update={"intake": IntakeConfig(order_api_url="http://127.0.0.1:9", order_api_timeout_s=0.5)}
    )
    async with console_app(settings) as harness:
        ann = await harness.staff("ann")
        chat = await harness.customer("en")
        customer_id = await customer_of(harness, chat.conversation_id)
        await harness.app[CUSTOMERS].link_proven(customer_id, ALEX_PROOF, detail={})
        status, panel = await api(ann, "GET", f"/{customer_id}")
        assert status == 200 and panel["orders"] == {"available": True, "error": "order_system_failed", "items": []}
