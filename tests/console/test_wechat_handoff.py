"""WeChat to agent console and back, in-process on both handoff backends: a customer's encrypted push asks for a
person, the console gets the case (channel wechat), and the agent's reply goes out through the (fake) WeChat
customer-service API; a 45015 (outside the 48-hour window) from WeChat is recorded where the agent sees it."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.handoff_bridge import HANDOFF
from bot.keys import CONVERSATIONS
from tests.console.conftest import EVENT_TIMEOUT_S, Staff, WeChatHarness, is_event, next_frame, wechat_app
from tests.wechat.wechat_fakes import OPENID, FakeWeChatAPI

AGENT_REPLY = "您好，我是客服小安"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
async def wechat_idle(
    tmp_path: Path, rasa_url: str, backend: str, fake_api: tuple[FakeWeChatAPI, str]
) -> AsyncIterator[WeChatHarness]:
    """WeChat conversations close after half a second of customer silence."""
    async with wechat_app(tmp_path, rasa_url, backend, fake_api, idle_close_s=0.5) as harness:
        yield harness


async def hand_off_to(harness: WeChatHarness, ws: Any) -> str:
    """The customer asks for a person over WeChat; returns the conversation id the agent's console is assigned."""
    raw = await harness.push("我要人工客服", msg_id="9001")
    reply = harness.sim.read_reply(raw, encrypted=True)  # checks MsgSignature and decrypts, as WeChat would
    assert reply.type == "text" and reply.target == OPENID
    assert CJK.search(reply.content), reply.content
    assigned = await next_frame(ws, is_event("assigned", "agent:"))
    # The "agent joined" notice goes out through the CS API after the assignment; wait for it so later counts hold.
    await harness.api.wait_for_sends(1, timeout_s=EVENT_TIMEOUT_S)
    assert "已加入" in harness.api.sends[0]["text"]["content"]
    return str(assigned["event"]["conversation_id"])


async def card_of(agent: Staff, conversation_id: str) -> dict[str, Any]:
    status, card = await agent.call("GET", f"/conversations/{conversation_id}")
    assert status == 200, card
    return dict(card)


async def test_wechat_customer_handed_off_is_answered_by_an_agent_through_the_cs_api(wechat: WeChatHarness) -> None:
    ann, ws = await wechat.online_agent()
    async with ws:
        cid = await hand_off_to(wechat, ws)
        record = await wechat.running.app[HANDOFF].state_of(cid)
        assert record is not None and record.agent_id == "ann"

        card = await card_of(ann, cid)
        assert card["conversation"]["channel"] == "wechat"
        # The console counts down WeChat's 48-hour window from the customer's last message.
        assert card["reply_window"]["closes_at"] - time.time() > 47.9 * 3600
        assert card["owned"] is True
        assert "我要人工客服" in [m["text"] for m in card["transcript"] if m["sender"] == "customer"]

        sends_before = len(wechat.api.sends)
        status, sent = await ann.call("POST", f"/conversations/{cid}/messages", {"text": AGENT_REPLY})
        assert status == 200 and sent["message"]["sender"] == "agent"
        await wechat.api.wait_for_sends(sends_before + 1, timeout_s=EVENT_TIMEOUT_S)
        await asyncio.sleep(0.2)  # nothing else follows the reply
        replies = [s for s in wechat.api.sends[sends_before:] if s["text"]["content"] == AGENT_REPLY]
        assert len(wechat.api.sends) == sends_before + 1 and len(replies) == 1
        assert replies[0] == {"touser": OPENID, "msgtype": "text", "text": {"content": AGENT_REPLY}}


async def test_a_push_while_the_agent_owns_the_chat_gets_no_bot_answer_but_reaches_the_transcript(
    wechat: WeChatHarness,
) -> None:
    ann, ws = await wechat.online_agent()
    async with ws:
        cid = await hand_off_to(wechat, ws)
        sends_before = len(wechat.api.sends)

        raw = await wechat.push("我的订单还没到", msg_id="9002")
        assert raw in ("", "success")  # the bot stays silent while an agent owns the chat
        forwarded = await next_frame(ws, is_event("customer_message", "agent:"))
        assert forwarded["event"]["message"]["text"] == "我的订单还没到"

        transcript = (await card_of(ann, cid))["transcript"]
        assert [m["text"] for m in transcript if m["sender"] == "customer"][-1] == "我的订单还没到"
        assert not any(m["text"].startswith("echo:") for m in transcript)
        await asyncio.sleep(0.2)
        assert len(wechat.api.sends) == sends_before  # and no late bot answer through the CS API either


async def test_an_agent_reply_outside_the_service_window_is_marked_delivery_failed(wechat: WeChatHarness) -> None:
    ann, ws = await wechat.online_agent()
    async with ws:
        cid = await hand_off_to(wechat, ws)
        sends_before = len(wechat.api.sends)
        wechat.api.send_errcodes.append(45015)

        status, sent = await ann.call("POST", f"/conversations/{cid}/messages", {"text": AGENT_REPLY})
        assert status == 200  # the reply is in the transcript; the failure is recorded next to it
        pushed = await next_frame(
            ws, lambda f: is_event("message", "conv:")(f) and "delivery_failed" in f["event"]["message"]["custom"]
        )
        assert pushed["event"]["message"]["custom"]["delivery_failed"] == [sent["message"]["id"]]
        failed = [
            m
            for m in (await card_of(ann, cid))["transcript"]
            if m["sender"] == "event" and "delivery_failed" in m["custom"]
        ]
        assert [m["custom"]["delivery_failed"] for m in failed] == [[sent["message"]["id"]]]
        assert len(wechat.api.sends) == sends_before


async def test_a_wechat_customer_back_after_the_idle_limit_starts_a_new_conversation(
    wechat_idle: WeChatHarness,
) -> None:
    store = wechat_idle.running.app[CONVERSATIONS]
    await wechat_idle.push("你好", msg_id="9101")
    customer, _ = await store.customer_for_identity("wechat", OPENID)
    first = await store.open_conversation_for(customer.id, "wechat")
    assert first is not None
    await wechat_idle.push("还在吗", msg_id="9102")  # within the limit: the same conversation
    assert [c.id for c in await store.conversations_of(customer.id)] == [first.id]
    await asyncio.sleep(0.6)
    await wechat_idle.push("我又来了", msg_id="9103")
    second, old = await store.conversations_of(customer.id)
    assert old.id == first.id and old.closed_at is not None and second.closed_at is None
    assert [m.text for m in await store.history(old.id) if m.sender.value == "customer"] == ["你好", "还在吗"]
    assert [m.text for m in await store.history(second.id) if m.sender.value == "customer"] == ["我又来了"]


@pytest.fixture
async def wechat_impatient(
    tmp_path: Path, rasa_url: str, backend: str, fake_api: tuple[FakeWeChatAPI, str]
) -> AsyncIterator[WeChatHarness]:
    """Web customers silent in the queue for half a second have left; WeChat ones keep the WeChat idle limit."""
    async with wechat_app(tmp_path, rasa_url, backend, fake_api, abandon_after_s=0.5) as harness:
        yield harness


async def test_a_patient_wechat_customer_keeps_their_place_while_a_silent_web_customer_leaves(
    wechat_impatient: WeChatHarness,
) -> None:
    running = wechat_impatient.running
    web = await running.customer("en")
    await web.say("human please")
    await wechat_impatient.push("我要人工客服", msg_id="9201")  # nobody online: both wait
    store, service = running.app[CONVERSATIONS], running.app[HANDOFF]
    customer, _ = await store.customer_for_identity("wechat", OPENID)
    conversation = await store.open_conversation_for(customer.id, "wechat")
    assert conversation is not None
    deadline = asyncio.get_running_loop().time() + EVENT_TIMEOUT_S
    while (await service.state_of(web.conversation_id)).state.value != "abandoned":
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # several more sweeps
    record = await service.state_of(conversation.id)
    assert record is not None and record.state.value == "queued"
