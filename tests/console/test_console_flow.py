"""The handoff flow through the real app in-process, on both handoff backends: a customer asks for a person, waits
in the queue, an agent's console gets the case, replies, closes, and the customer rates the chat."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bot.handoff_bridge import HANDOFF
from bot.keys import GATE, PIPELINE, SURVEYS
from conversations.models import Sender
from conversations.store import MessageDraft
from staff.auth import Role
from tests.console.conftest import Running, is_event, next_frame


def visible_texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages]


async def test_customer_asking_for_a_person_is_served_by_an_agent_and_rates_the_chat(running: Running) -> None:
    customer = await running.customer("zh")
    replies = await customer.say("我要找人工客服")
    queue_line = next(m for m in replies if m["sender"] == "system")
    assert "第 1 位" in queue_line["text"] or "下一位" in queue_line["text"]

    ann = await running.staff("ann")
    async with ann.socket() as ws:
        ready = await next_frame(ws, lambda f: f["type"] == "ready")
        assert ready["state"]["me"]["username"] == "ann"
        await ws.send_json({"type": "presence", "presence": "online"})
        assigned = await next_frame(ws, is_event("assigned", "agent:"))
        assert assigned["event"]["conversation_id"] == customer.conversation_id

        status, card = await ann.call("GET", f"/conversations/{customer.conversation_id}")
        assert status == 200
        assert card["reason"] == "customer_request"
        assert card["nlu"]["confidence"] == 0.97
        assert card["fields"]["order_number"] == "1234567890"
        assert card["kb_attempts"][0]["decision"] == "not_found"
        assert card["sla"]["deadline"] > card["handoff"]["enqueued_at"]
        assert "我要找人工客服" in [m["text"] for m in card["transcript"] if m["sender"] == "customer"]
        joined = await customer.wait_for(lambda m: m["sender"] == "system" and "Ann" in m["text"])
        assert "已加入" in joined["text"]

        status, sent = await ann.call(
            "POST", f"/conversations/{customer.conversation_id}/messages", {"text": "您好，我是 Ann。"}
        )
        assert status == 200 and sent["message"]["sender"] == "agent"
        await customer.wait_for(lambda m: m["sender"] == "agent" and m["text"] == "您好，我是 Ann。")

        assert await customer.say("我的订单还没到") == []  # the bot stays silent while an agent owns the chat
        forwarded = await next_frame(ws, is_event("customer_message", "agent:"))
        assert forwarded["event"]["message"]["text"] == "我的订单还没到"

        status, closed = await ann.call(
            "POST", f"/conversations/{customer.conversation_id}/close", {"resolution": "order located"}
        )
        assert status == 200 and closed["state"] == "bot"

    ask = await customer.wait_for(lambda m: bool(m["buttons"]) and m["buttons"][-1]["payload"].startswith("/fd_rate"))
    assert [b["payload"] for b in ask["buttons"]][4] == '/fd_rate{"score":5}'
    thanks = await customer.say("5", payload='/fd_rate{"score":5}')
    assert thanks and thanks[-1]["buttons"][0]["payload"] == "/fd_rate_skip"
    noted = await customer.say("Ann 很耐心")  # the comment is stored, never sent to Rasa
    assert [m["sender"] for m in noted] == ["bot"] and "意见" in noted[0]["text"]
    survey = await running.app[SURVEYS].latest(customer.conversation_id)
    assert survey is not None and (survey.score, survey.comment, survey.agent_id) == (5, "Ann 很耐心", "ann")
    assert not any(m["text"].startswith("echo: Ann") for m in await customer.history())
    assert (await customer.say("你好"))[0]["text"] == "echo: 你好"  # and the bot is back


async def test_waiting_customers_hear_their_new_place_as_the_queue_moves(running: Running) -> None:
    first, second = await running.customer("en"), await running.customer("en")
    await first.say("I want a human")
    replies = await second.say("a human please")
    assert "number 2" in next(m for m in replies if m["sender"] == "system")["text"]
    async with second.session.ws_connect(f"/api/v1/conversations/{second.conversation_id}/ws") as customer_ws:
        await customer_ws.send_json({"type": "hello", "token": second.token})
        await next_frame(customer_ws, lambda f: f["type"] == "ready")
        bob = await running.staff("bob")
        sam = await running.staff("sam", Role.SUPERVISOR)
        one_at_a_time = {"skills": [], "languages": ["en"], "capacity": 1}
        assert (await sam.call("PUT", "/agents/bob", one_at_a_time))[0] == 200
        status, _ = await bob.call("POST", "/presence", {"presence": "online"})
        assert status == 200
        notice = await next_frame(customer_ws, lambda f: f.get("type") == "notice" and f.get("position") == 1)
        assert notice["notice"] == "queue_position" and "next" in notice["text"]


async def test_the_bot_keeps_answering_while_the_customer_waits(running: Running) -> None:
    customer = await running.customer("en")
    await customer.say("human please")
    assert visible_texts(await customer.say("what are your opening hours")) == ["echo: what are your opening hours"]


async def test_two_agents_claiming_one_conversation_one_gets_409(pull_mode: Running) -> None:
    customer = await pull_mode.customer("en")
    await customer.say("human please")
    ann, bob = await pull_mode.staff("ann"), await pull_mode.staff("bob")
    for agent in (ann, bob):
        assert (await agent.call("POST", "/presence", {"presence": "online"}))[0] == 200
    path = f"/conversations/{customer.conversation_id}/claim"
    results = await asyncio.gather(ann.call("POST", path), bob.call("POST", path))
    assert sorted(status for status, _ in results) == [200, 409]
    loser = next(body for status, body in results if status == 409)
    assert loser["error"]["code"] == "claim_lost"
    record = await pull_mode.app[HANDOFF].state_of(customer.conversation_id)
    winner = next(agent for agent, (status, _) in zip((ann, bob), results, strict=True) if status == 200)
    assert record is not None and record.agent_id == winner.username


async def test_an_agent_pulls_the_next_case_and_transfers_it_to_a_queue_with_a_note(pull_mode: Running) -> None:
    customer = await pull_mode.customer("en")
    await customer.say("human please")
    ann = await pull_mode.staff("ann")
    await ann.call("POST", "/presence", {"presence": "online"})
    status, pulled = await ann.call("POST", "/next")
    assert status == 200 and pulled["record"]["conversation_id"] == customer.conversation_id
    status, nothing = await ann.call("POST", "/next")
    assert status == 200 and nothing["record"] is None
    status, moved = await ann.call(
        "POST", f"/conversations/{customer.conversation_id}/transfer", {"to_queue": "en:billing", "note": "invoice"}
    )
    assert status == 200 and moved["record"]["state"] == "queued"
    kinds = [(e["kind"], e["actor"], e["text"]) for e in moved["record"]["events"]]
    assert kinds == [("trigger", "bot", "the customer asked for a person"), ("transfer", "ann", "invoice")]


async def test_transfer_to_an_offline_agent_keeps_the_chat_and_answers_409(running: Running) -> None:
    customer = await running.customer("en")
    ann = await running.staff("ann")
    await running.staff("bob")
    await ann.call("POST", "/presence", {"presence": "online"})
    await customer.say("human please")
    status, body = await ann.call(
        "POST", f"/conversations/{customer.conversation_id}/transfer", {"to_agent": "bob", "note": "x"}
    )
    assert status == 409 and body["error"]["code"] == "target_busy"
    record = await running.app[HANDOFF].state_of(customer.conversation_id)
    assert record is not None and record.agent_id == "ann"


async def test_canned_responses_fill_in_names(running: Running) -> None:
    customer = await running.customer("en")
    ann = await running.staff("ann", display_name="Ann (agent)")
    await ann.call("POST", "/presence", {"presence": "online"})
    await customer.say("human please")
    status, sent = await ann.call(
        "POST", f"/conversations/{customer.conversation_id}/messages", {"canned_id": "greeting"}
    )
    assert status == 200
    assert "this is Ann from the support team" in sent["message"]["text"]
    assert "{" not in sent["message"]["text"]


async def test_supervisor_sees_queues_agents_and_at_risk_waits(running: Running) -> None:
    customer = await running.customer("zh")
    await customer.say("我要找人工客服")
    sam = await running.staff("sam", Role.SUPERVISOR)
    status, snapshot = await sam.call("GET", "/supervisor")
    assert status == 200
    assert [w["conversation_id"] for w in snapshot["waiting"]] == [customer.conversation_id]
    assert any(q["skill"] == "zh:general" and q["length"] == 1 for q in snapshot["queues"])
    assert customer.conversation_id in snapshot["deadlines"]


async def test_customer_text_reaches_the_console_socket_verbatim(running: Running) -> None:
    customer = await running.customer("en")
    ann = await running.staff("ann")
    async with ann.socket() as ws:
        await next_frame(ws, lambda f: f["type"] == "ready")
        await ws.send_json({"type": "presence", "presence": "online"})
        await customer.say("human please")
        await next_frame(ws, is_event("assigned", "agent:"))
        await customer.say("<img src=x onerror=alert(1)>")
        frame = await next_frame(
            ws, lambda f: is_event("message", "conv:")(f) and f["event"]["message"]["sender"] == "customer"
        )
        assert frame["event"]["message"]["text"] == "<img src=x onerror=alert(1)>"
        await ws.send_json({"type": "typing", "conversation_id": customer.conversation_id, "on": True})
        await ws.send_json({"type": "typing", "conversation_id": "conv_not_mine", "on": True})
        error = await next_frame(ws, lambda f: f["type"] == "error")
        assert error["error"]["code"] == "not_owner"
    assert json.dumps(frame)  # JSON on the wire; the page sets it with textContent


async def test_a_customers_words_reach_the_agent_even_when_another_line_follows_them_at_once(running: Running) -> None:
    # With several replicas a notice written by one (an agent joining) can land right after a customer's message
    # recorded by another, before that one hands the message to the agent: it must be the message that travels.
    customer = await running.customer("en")
    await customer.say("I want a human")
    ann = await running.staff("ann")
    async with ann.socket() as ws:
        await ws.send_json({"type": "presence", "presence": "online"})
        await next_frame(ws, is_event("assigned", "agent:"))
        store = running.app[PIPELINE].store
        (words,) = await store.append(customer.conversation_id, [MessageDraft(Sender.CUSTOMER, "Still there?")])
        await store.append(customer.conversation_id, [MessageDraft(Sender.SYSTEM, "Ann joined the chat.")])
        assert not await running.app[GATE].bot_answers(customer.conversation_id, words)
        forwarded = await next_frame(ws, is_event("customer_message", "agent:"))
        assert forwarded["event"]["message"]["text"] == "Still there?"
