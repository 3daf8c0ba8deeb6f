"""One conversation at a time through the front door's HTTP API and WebSocket, with the real Rasa behind it."""

from __future__ import annotations

import asyncio
import json
import re

import aiohttp
import pytest

from backends.sql import open_database
from bot.stack import Stack
from record import EventQuery, SQLServiceRecord
from tests.e2e.conftest import CJK, Customer

pytestmark = pytest.mark.e2e


def texts(messages: list[dict[str, object]]) -> str:
    return " ".join(str(m["text"]) for m in messages)


async def test_an_english_greeting_gets_an_english_answer(customer: Customer) -> None:
    replies = await customer.say("Hello there")
    assert replies and all(m["sender"] == "bot" for m in replies)
    assert not CJK.search(texts(replies))


async def test_a_chinese_greeting_gets_a_chinese_answer(customer: Customer) -> None:
    replies = await customer.say("你好")
    assert replies
    assert CJK.search(texts(replies))


async def test_the_transcript_keeps_both_sides_with_timestamps(customer: Customer) -> None:
    await customer.say("hi")
    await customer.say("thanks a lot")
    history = await customer.history()
    senders = [m["sender"] for m in history]
    assert senders[0] == "customer" and "bot" in senders
    assert [m["seq"] for m in history] == sorted(m["seq"] for m in history)
    assert all(m["created_at"] > 0 for m in history)
    assert all(m["custom"] == {} for m in history)  # machine events never reach the customer


async def test_asking_for_a_human_in_chinese_hands_off(customer: Customer) -> None:
    replies = await customer.say("我要找人工客服")
    assert CJK.search(texts(replies))
    assert any(m["sender"] == "system" for m in replies), replies
    await customer.leave()


@pytest.mark.parametrize("text", ["我的电水壶坏了，我要转人工", "my kettle is broken, I want to talk to a human"])
async def test_a_problem_with_a_plain_request_for_a_person_hands_off_instead_of_starting_the_form(
    customer: Customer, text: str
) -> None:
    replies = await customer.say(text)
    assert any(m["sender"] == "system" for m in replies), replies  # queued for a person
    assert not re.search(r"order number|订单号", texts(replies), re.IGNORECASE), replies  # no form question
    await customer.leave()


async def test_live_chat_over_websocket_replays_history_and_streams_replies(
    http: aiohttp.ClientSession, customer: Customer, stack: Stack
) -> None:
    await customer.say("hello")
    url = f"{stack.frontdoor_url}/api/v1/conversations/{customer.conversation_id}/ws"
    async with http.ws_connect(url) as ws:
        await ws.send_json({"type": "hello", "token": customer.token, "after": 0})
        ready = await ws.receive_json(timeout=10)
        assert ready["type"] == "ready" and len(ready["messages"]) >= 2
        await ws.send_json({"type": "message", "text": "谢谢"})
        seen = []
        while not any(m["sender"] == "bot" for m in seen):
            event = await ws.receive_json(timeout=15)
            if event["type"] == "message":
                seen.append(event["message"])
        assert seen[0]["sender"] == "customer" and seen[0]["text"] == "谢谢"
        assert CJK.search(texts([m for m in seen if m["sender"] == "bot"]))


async def test_websocket_without_a_valid_hello_is_refused(
    http: aiohttp.ClientSession, customer: Customer, stack: Stack
) -> None:
    url = f"{stack.frontdoor_url}/api/v1/conversations/{customer.conversation_id}/ws"
    async with http.ws_connect(url) as ws:
        await ws.send_json({"type": "hello", "token": "not-the-token"})
        error = await ws.receive_json(timeout=5)
        assert error["type"] == "error" and error["error"]["code"] == "unauthorised"


async def test_a_returning_browser_is_recognised_as_the_same_customer(
    http: aiohttp.ClientSession, customer: Customer, stack: Stack
) -> None:
    again = Customer(http, stack.frontdoor_url)
    data = await again.start(visitor_token=customer.visitor_token)
    assert data["returning_customer"] is True
    assert again.conversation_id != customer.conversation_id


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"{not json", {"Content-Type": "application/json"}, 400, "bad_json"),
        (b"[1, 2]", {"Content-Type": "application/json"}, 400, "bad_json"),
        (b"\xff\xfe\x00binary", {"Content-Type": "application/octet-stream"}, 400, "bad_json"),
        (json.dumps({"text": 5}).encode(), {}, 400, "bad_text"),
        (json.dumps({"text": "   "}).encode(), {}, 400, "empty_text"),
        (json.dumps({"text": "x" * 2001}).encode(), {}, 413, "too_large"),
        (json.dumps({"text": "y" * 70_000}).encode(), {}, 413, "too_large"),
    ],
)
async def test_malformed_messages_get_clear_client_errors(
    http: aiohttp.ClientSession,
    customer: Customer,
    stack: Stack,
    body: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    url = f"{stack.frontdoor_url}/api/v1/conversations/{customer.conversation_id}/messages"
    async with http.post(url, data=body, headers={**customer.headers, **headers}) as response:
        assert response.status == status
        assert (await response.json())["error"]["code"] == code


async def test_unknown_conversation_and_wrong_token_are_refused(
    http: aiohttp.ClientSession, customer: Customer, stack: Stack
) -> None:
    base = f"{stack.frontdoor_url}/api/v1/conversations"
    async with http.post(f"{base}/conv_nope/messages", json={"text": "hi"}, headers=customer.headers) as response:
        assert response.status == 404
    wrong = {"Authorization": "Bearer wrong"}
    async with http.post(f"{base}/{customer.conversation_id}/messages", json={"text": "hi"}, headers=wrong) as r:
        assert r.status == 401
    async with http.get(f"{base}/{customer.conversation_id}/messages") as response:
        assert response.status == 401


async def test_a_payload_that_was_never_offered_is_treated_as_text(customer: Customer) -> None:
    replies = await customer.say("/request_human", payload='/check_ticket{"ticket_number": "FD-000001"}')
    assert replies  # answered, but not as a forged intent with someone else's ticket
    history = await customer.history()
    assert history[0]["text"] == "/request_human"


async def test_health_reports_each_dependency(http: aiohttp.ClientSession, stack: Stack) -> None:
    async with http.get(f"{stack.frontdoor_url}/healthz") as response:
        body = await response.json()
    assert response.status == 200, body
    assert set(body["checks"]) >= {"rasa", "database", "bus"}


async def test_fifty_concurrent_conversations_all_get_answers(http: aiohttp.ClientSession, stack: Stack) -> None:
    customers = [Customer(http, stack.frontdoor_url) for _ in range(50)]
    await asyncio.gather(*(c.start() for c in customers))
    replies = await asyncio.gather(*(c.say("hello" if i % 2 else "你好") for i, c in enumerate(customers)))
    assert all(r for r in replies)


async def test_a_turn_through_the_real_rasa_records_its_intent_and_outcome(customer: Customer, stack: Stack) -> None:
    """Rasa's channel ends its reply with the message's classification (rasa_addons/channels.py), and the pipeline
    records it with the turn (written within the writer's half-second linger), though no custom action ran."""
    await customer.say("Hello there")
    database = await open_database(f"sqlite:///{stack.var_dir / 'frontdoor.db'}")
    try:
        query = EventQuery(conversation_id=customer.conversation_id, kinds=["bot_turn"])
        for _ in range(100):
            turns = await SQLServiceRecord(database).read(query)
            if turns:
                break
            await asyncio.sleep(0.1)
    finally:
        await database.close()
    (turn,) = turns
    assert turn.data["outcome"] == "bot" and turn.data["intent"] == "greet"
    assert 0 < turn.data["intent_confidence"] <= 1
