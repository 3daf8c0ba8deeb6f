"""A Redis outage, with a real redis-server the test kills (kill -9, no persistence) and starts again empty: the bot
keeps answering from Rasa and SQL, a handoff asked for meanwhile is kept in SQL and queued once Redis is back, and
the queues, assignments and owning agents come back from the service record, so the console lists them again."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.handoff_bridge import HANDOFF, PENDING_HANDOFFS
from bot.keys import CONVERSATIONS, RECORD
from bot.live_state import LIVE_STATE_JOB
from handoff.agents import Presence
from handoff.constants import CONSOLE_HEARTBEAT_S
from handoff.ownership import OwnershipState
from staff.auth import Role
from tests.conftest import scripted_rasa
from tests.console.conftest import (
    Running,
    console_app,
    console_settings,
    next_frame,
    scripted_rasa_turn,
    wechat_app,
)
from tests.outage.conftest import RedisServer
from tests.wechat.wechat_fakes import OPENID, FakeWeChatAPI

RECORDED = "We have recorded your request; a colleague will pick it up shortly."
WAIT_S = 10.0


@pytest.fixture
async def running(tmp_path: Path, redis_server: RedisServer) -> AsyncIterator[Running]:
    async with scripted_rasa(scripted_rasa_turn) as rasa_url:
        # The reconcile job is run by hand (run_once) so the test says when; its own rounds are far apart.
        settings = console_settings(tmp_path, rasa_url, redis_server.url, reconcile_s=3600.0)
        async with console_app(settings) as harness:
            yield harness


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages]


async def flush_record(running: Running) -> None:
    """The record's writer lingers before a batch; the rebuild reads what it wrote."""
    await running.app[RECORD].flush()


async def test_the_bot_answers_while_redis_is_down_and_the_socket_hears_it(
    running: Running, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    customer = await running.customer("en")
    assert texts(await customer.say("hi")) == ["echo: hi"]
    async with customer.session.ws_connect(f"/api/v1/conversations/{customer.conversation_id}/ws") as ws:
        await ws.send_json({"type": "hello", "token": customer.token})
        await next_frame(ws, lambda f: f["type"] == "ready")
        await redis_server.stop()
        with caplog.at_level(logging.WARNING):
            assert texts(await customer.say("still there?")) == ["echo: still there?"]
            frame = await next_frame(ws, lambda f: f["type"] == "message" and f["message"]["sender"] == "bot")
        assert frame["message"]["text"] == "echo: still there?"
        assert any("Redis is unreachable" in r.getMessage() for r in caplog.records)
        # The console's live views say why they are unavailable, as JSON.
        status, body = await (await running.staff("ann")).call("GET", "/state")
        assert status == 503 and body["error"]["code"] == "live_state_unavailable"
        # A socket opened during the outage works too (it listens locally until Redis is back).
        async with customer.session.ws_connect(f"/api/v1/conversations/{customer.conversation_id}/ws") as late:
            await late.send_json({"type": "hello", "token": customer.token, "after": 4})
            await next_frame(late, lambda f: f["type"] == "ready")
            await late.send_json({"type": "message", "text": "and now?", "client_message_id": "late-1"})
            frame = await next_frame(late, lambda f: f["type"] == "message" and f["message"]["sender"] == "bot")
            assert frame["message"]["text"] == "echo: and now?"
    assert texts(await customer.history()) == [
        "hi",
        "echo: hi",
        "still there?",
        "echo: still there?",
        "and now?",
        "echo: and now?",
    ]


async def test_a_handoff_asked_for_during_the_outage_is_kept_and_queued_when_redis_is_back(
    running: Running, redis_server: RedisServer
) -> None:
    customer = await running.customer("en")
    assert texts(await customer.say("hi")) == ["echo: hi"]
    await redis_server.stop()
    replies = await customer.say("human please", client_message_id="h-1")
    assert texts(replies) == ["I'm connecting you with a colleague.", RECORDED]
    pending = running.app[PENDING_HANDOFFS]
    assert await pending.waiting(customer.conversation_id)
    # A retry of the same send stores nothing and keeps one request.
    assert texts(await customer.say("human please", client_message_id="h-1")) == texts(replies)
    assert [m for m in texts(await customer.history()) if m == "human please"] == ["human please"]
    job = running.app[LIVE_STATE_JOB]
    with pytest.raises(Exception):  # noqa: B017 - the leader lock cannot be asked while Redis is away
        await job.run_once()

    await redis_server.start()
    done = await job.run_once()
    assert done is not None and customer.conversation_id in done
    record = await running.app[HANDOFF].state_of(customer.conversation_id)
    assert record is not None and record.state is OwnershipState.QUEUED
    assert not await pending.waiting(customer.conversation_id)
    supervisor = await running.staff("sue", Role.AGENT, Role.SUPERVISOR)
    status, state = await supervisor.call("GET", "/state")
    assert status == 200 and [q["conversation_id"] for q in state["queue"]] == [customer.conversation_id]
    assert await job.run_once() == []  # once queued, nothing is queued twice


async def test_queues_assignments_and_agents_are_rebuilt_after_redis_comes_back_empty(
    running: Running, redis_server: RedisServer
) -> None:
    ann = await running.staff("ann")
    ws = await ann.socket()
    await next_frame(ws, lambda f: f["type"] == "ready")
    assert (await ann.call("POST", "/presence", {"presence": "online"}))[0] == 200
    served = await running.customer("en")
    await served.say("human please")
    await served.wait_for(lambda m: "has joined the chat" in m["text"])
    # Away takes no new chats: the next customer waits in the queue.
    assert (await ann.call("POST", "/presence", {"presence": "away"}))[0] == 200
    waiting = await running.customer("en")
    await waiting.say("human please")
    service = running.app[HANDOFF]
    before_served = await service.state_of(served.conversation_id)
    before_waiting = await service.state_of(waiting.conversation_id)
    assert before_served is not None and before_served.state is OwnershipState.ASSIGNED
    assert before_waiting is not None and before_waiting.state is OwnershipState.QUEUED
    await flush_record(running)

    await redis_server.stop()
    await redis_server.start()  # empty: every queue, assignment and agent is gone
    assert await service.state_of(served.conversation_id) is None

    done = await running.app[LIVE_STATE_JOB].run_once()
    assert done is not None and set(done) == {served.conversation_id, waiting.conversation_id}
    after_served = await service.state_of(served.conversation_id)
    after_waiting = await service.state_of(waiting.conversation_id)
    assert after_served is not None and after_served.state is OwnershipState.ASSIGNED
    assert after_served.agent_id == "ann" and after_served.first_response_due == before_served.first_response_due
    assert after_waiting is not None and after_waiting.state is OwnershipState.QUEUED
    assert after_waiting.skill == before_waiting.skill
    assert after_waiting.first_response_due == before_waiting.first_response_due
    agent = await service.store.get_agent("ann")
    # Her chat is hers again; her presence is not in the record, so she is away until she says otherwise.
    assert agent is not None and agent.presence is Presence.AWAY and agent.chats == (served.conversation_id,)
    # The console lists them again: Ann's inbox and the queue.
    status, state = await ann.call("GET", "/state")
    assert status == 200
    assert [r["conversation_id"] for r in state["inbox"]] == [served.conversation_id]
    assert [q["conversation_id"] for q in state["queue"]] == [waiting.conversation_id]
    # Once rebuilt, a later pass leaves the live state alone.
    assert await running.app[LIVE_STATE_JOB].run_once() == []
    await ws.close()


async def test_a_wechat_push_retried_while_redis_is_down_is_stored_and_answered_once(
    tmp_path: Path, redis_server: RedisServer, fake_api: tuple[FakeWeChatAPI, str]
) -> None:
    async with (
        scripted_rasa(scripted_rasa_turn) as rasa_url,
        wechat_app(tmp_path, rasa_url, redis_server.url, fake_api) as wechat,
    ):
        await redis_server.stop()  # WeChat's own MsgId claims live in Redis: the transcript's id is the backstop
        first = wechat.sim.read_reply(await wechat.push("hello", msg_id="7001"), encrypted=True)
        again = wechat.sim.read_reply(await wechat.push("hello", msg_id="7001"), encrypted=True)
        assert first.content == again.content == "echo: hello"
        store = wechat.running.app[CONVERSATIONS]
        customer, _ = await store.customer_for_identity("wechat", OPENID)
        conversation = await store.open_conversation_for(customer.id, "wechat")
        assert conversation is not None
        history = await store.history(conversation.id)
        assert [(m.sender.value, m.text) for m in history] == [("customer", "hello"), ("bot", "echo: hello")]


async def test_an_agent_whose_console_is_open_is_registered_again_after_redis_comes_back_empty(
    running: Running, redis_server: RedisServer
) -> None:
    bob = await running.staff("bob")
    async with await bob.socket() as ws:
        await next_frame(ws, lambda f: f["type"] == "ready")
        assert (await bob.call("POST", "/presence", {"presence": "online"}))[0] == 200
        await redis_server.stop()
        await redis_server.start()  # empty: Bob is unknown to the live state
        # His console's next heartbeat finds him gone: he is registered again and the console starts afresh.
        ready = await next_frame(ws, lambda f: f["type"] == "ready", timeout_s=CONSOLE_HEARTBEAT_S + WAIT_S)
        assert ready["state"]["me"]["agent"]["presence"] == "offline"
        await ws.send_json({"type": "presence", "presence": "online"})  # what the console page does on a ready
        await next_frame(ws, lambda f: f["type"] == "presence")
    agent = await running.app[HANDOFF].store.get_agent("bob")
    assert agent is not None and agent.presence is Presence.ONLINE
