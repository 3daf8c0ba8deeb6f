"""Human handoff end to end on the real stack (front door + Rasa + actions): a Chinese-speaking customer asks for a
person, sees their place in the queue, an agent's console gets the case, replies, closes, and the customer rates;
an English report cut short by a handoff reaches the agent with what it had, and the next report starts afresh."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import secrets
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.stack import Stack
from tests.conftest import send_csrf_token
from tests.e2e.conftest import Customer, add_agent

pytestmark = pytest.mark.e2e

TIMEOUT_S = 15.0


async def next_event(ws: aiohttp.ClientWebSocketResponse, kind: str, conversation_id: str) -> dict[str, Any]:
    async with asyncio.timeout(TIMEOUT_S):
        while True:
            frame = json.loads(await ws.receive_str())
            event = frame.get("event") or {}
            if frame.get("type") == "event" and event.get("type") == kind:
                cid = event.get("conversation_id") or (event.get("message") or {}).get("conversation_id")
                if cid == conversation_id:
                    return event


@contextlib.asynccontextmanager
async def online_agent(
    stack: Stack,
) -> AsyncIterator[tuple[str, aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]]:
    """A new agent, logged in, with the console open and online: cases start arriving on the socket."""
    username, password = f"agent_{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    # the same database the stack's front door uses
    await asyncio.to_thread(functools.partial(add_agent, username, password, FD_VAR_DIR=str(stack.var_dir)))
    async with aiohttp.ClientSession(base_url=stack.frontdoor_url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as agent:
        async with agent.post("/login", data={"username": username, "password": password}, allow_redirects=False):
            pass
        send_csrf_token(agent)
        async with agent.get("/console") as page:
            assert page.status == 200
        async with agent.ws_connect("/api/v1/console/ws") as ws:
            await ws.send_json({"type": "presence", "presence": "online"})
            yield username, agent, ws


async def wait_for_message(customer: Customer, predicate: Any) -> dict[str, Any]:
    async with asyncio.timeout(TIMEOUT_S):
        while True:
            for message in await customer.history():
                if predicate(message):
                    return message
            await asyncio.sleep(0.1)


async def test_a_chinese_customer_asks_for_a_person_is_served_in_the_console_and_rates_the_chat(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    customer = Customer(http, stack.frontdoor_url)
    await customer.start(language="zh")
    replies = await customer.say("我要找人工客服")
    system = [m["text"] for m in replies if m["sender"] == "system"]
    assert any("队列" in text for text in system), replies  # "您目前在人工客服队列中排第 N 位…"

    async with online_agent(stack) as (username, agent, ws):
        await next_event(ws, "assigned", customer.conversation_id)
        async with agent.get(f"/api/v1/console/conversations/{customer.conversation_id}") as response:
            assert response.status == 200
            card = await response.json()
        assert card["reason"] == "customer_request"
        assert card["nlu"]["intent"] == "request_human"
        assert "我要找人工客服" in [m["text"] for m in card["transcript"] if m["sender"] == "customer"]
        assert card["sla"]["deadline"] is not None

        path = f"/api/v1/console/conversations/{customer.conversation_id}"
        async with agent.post(f"{path}/messages", json={"text": "您好，请问有什么可以帮您？"}) as response:
            assert response.status == 200
        await wait_for_message(customer, lambda m: m["sender"] == "agent")

        assert await customer.say("我的快递三天没动了") == []  # no bot reply while the agent owns the chat
        forwarded = await next_event(ws, "customer_message", customer.conversation_id)
        assert forwarded["message"]["text"] == "我的快递三天没动了"

        async with agent.post(f"{path}/close", json={"resolution": "courier contacted"}) as response:
            assert response.status == 200

    ask = await wait_for_message(customer, lambda m: any(b["payload"].startswith("/fd_rate") for b in m["buttons"]))
    assert "满意" in ask["text"]
    thanks = await customer.say("5", payload='/fd_rate{"score":5}')
    assert thanks and thanks[-1]["buttons"][0]["payload"] == "/fd_rate_skip"
    noted = await customer.say("服务很好")  # the comment: thanked, never sent to Rasa
    assert [m["sender"] for m in noted] == ["bot"] and "意见" in noted[0]["text"]
    with sqlite3.connect(Path(stack.var_dir) / "frontdoor.db") as db:
        row = db.execute(
            "SELECT score, comment, agent_id FROM handoff_surveys WHERE conversation_id = ?",
            (customer.conversation_id,),
        ).fetchone()
    assert row == (5, "服务很好", username)


async def test_a_report_interrupted_by_a_handoff_reaches_the_agent_and_is_asked_afresh_afterwards(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    customer = Customer(http, stack.frontdoor_url)
    await customer.start(language="en")

    async def text_of(said: str) -> str:
        return " ".join(str(m["text"]) for m in await customer.say(said))

    assert "order number" in await text_of("My blender arrived broken")
    assert "order number" not in await text_of("1000000001")
    await text_of("I want to talk to a person")

    async with online_agent(stack) as (_username, agent, ws):
        await next_event(ws, "assigned", customer.conversation_id)
        path = f"/api/v1/console/conversations/{customer.conversation_id}"
        async with agent.get(path) as response:
            card = await response.json()
        assert card["fields"]["order_number"] == "1000000001"  # what the form had collected travels with the case
        async with agent.post(f"{path}/close", json={"resolution": "advised a replacement"}) as response:
            assert response.status == 200

    await wait_for_message(customer, lambda m: any(b["payload"].startswith("/fd_rate") for b in m["buttons"]))
    again = await text_of("My blender arrived broken")  # the rating is ignored: a new report
    assert "order number" in again, await customer.history()


async def test_a_report_started_while_waiting_does_not_resume_after_the_agent_and_a_typed_rating_counts(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    customer = Customer(http, stack.frontdoor_url)
    await customer.start(language="en")

    async def text_of(said: str) -> str:
        return " ".join(str(m["text"]) for m in await customer.say(said))

    await text_of("I want to talk to a person")
    assert "order number" in await text_of("My blender arrived broken")  # the bot's form, while in the queue

    async with online_agent(stack) as (_username, agent, ws):
        await next_event(ws, "assigned", customer.conversation_id)
        path = f"/api/v1/console/conversations/{customer.conversation_id}"
        async with agent.post(f"{path}/messages", json={"text": "Sorry about the blender, a new one is on its way."}):
            pass
        async with agent.post(f"{path}/close", json={"resolution": "sent a replacement"}) as response:
            assert response.status == 200

    await wait_for_message(customer, lambda m: any(b["payload"].startswith("/fd_rate") for b in m["buttons"]))
    thanks = await text_of("5")  # typed, not clicked: a rating all the same
    assert "order number" not in thanks and "in words" not in thanks, thanks
    later = await text_of("thanks, bye")
    assert "order number" not in later, await customer.history()
