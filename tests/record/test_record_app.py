"""The service record through the real app on the Redis backend: a chat handed to an agent, answered, closed and rated
leaves its facts in SQL, in order, with its ids; they are still there after the app restarts and Redis is flushed
(the live state is a cache, the record is not); and a bot turn writes its outcome."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.keys import RECORD, SERVICE_RECORD
from bot.settings import Settings
from record import EventQuery, RecordConfig
from tests.conftest import REDIS_URL, flushed_redis, redis_database, scripted_rasa
from tests.console.conftest import console_app, console_settings, is_event, next_frame, scripted_rasa_turn

RECORD_REDIS_DB = 9


async def classifying_rasa_turn(request: web.Request) -> web.Response:
    """The console tests' scripted Rasa, whose reply ends with the message's classification as Rasa's channel sends
    it (rasa_addons/channels.py)."""
    reply = await scripted_rasa_turn(request)
    message = (await request.json())["message"]
    human = "人工" in message or "human" in message.lower()
    nlu = {"intent": "request_human", "confidence": 0.97} if human else {"intent": "greet", "confidence": 0.88}
    return web.json_response([*json.loads(reply.text or "[]"), {"custom": {"nlu": nlu}}])


@pytest.fixture
async def rasa_url() -> AsyncIterator[str]:
    async with scripted_rasa(classifying_rasa_turn) as url:
        yield url


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    async with redis_database(RECORD_REDIS_DB):
        yield f"{REDIS_URL}/{RECORD_REDIS_DB}"


@pytest.fixture
def settings(tmp_path: Path, rasa_url: str, redis_url: str) -> Settings:
    return console_settings(tmp_path, rasa_url, redis_url)


async def test_a_served_chats_facts_survive_a_restart_and_a_redis_flush(settings: Settings) -> None:
    async with console_app(settings) as running:
        customer = await running.customer("zh")
        await customer.say("我要找人工客服")
        ann = await running.staff("ann")
        cid = customer.conversation_id
        async with ann.socket() as ws:
            await next_frame(ws, lambda f: f["type"] == "ready")
            await ws.send_json({"type": "presence", "presence": "online"})
            await next_frame(ws, is_event("assigned", "agent:"))
            status, _ = await ann.call("POST", f"/conversations/{cid}/messages", {"text": "您好，我是 Ann。"})
            assert status == 200
            status, _ = await ann.call("POST", f"/conversations/{cid}/close", {"resolution": "order located"})
            assert status == 200
        await customer.wait_for(lambda m: bool(m["buttons"]) and m["buttons"][-1]["payload"].startswith("/fd_rate"))
        await customer.say("5", payload='/fd_rate{"score":5}')
        await running.app[RECORD].flush()
        customer_id = (await running.app[SERVICE_RECORD].read(EventQuery(conversation_id=cid)))[0].customer_id
    # The app has stopped (its writer wrote what was buffered on the way out); now the live state goes too.
    await (await flushed_redis(RECORD_REDIS_DB)).aclose()

    async with console_app(settings) as again:
        events = await again.app[SERVICE_RECORD].read(EventQuery(conversation_id=cid))
    assert [e.kind.value for e in events] == [
        "conversation_opened",
        "customer_message",
        "bot_turn",
        "handoff_requested",
        "queued",
        "assigned",
        "agent_reply",
        "wrap_up",
        "back_to_bot",
        "survey_sent",
        "customer_message",
        "survey_answered",
    ]
    assert {e.customer_id for e in events} == {customer_id} and customer_id is not None
    assert {e.channel for e in events} == {"web"}
    by_kind = {e.kind.value: e for e in events}
    assert by_kind["bot_turn"].data["intent"] == "request_human"
    assert by_kind["bot_turn"].data["handoff_reason"] == "customer_request"
    assert by_kind["handoff_requested"].data["reason"] == "customer_request"
    assert (by_kind["assigned"].agent, by_kind["agent_reply"].agent, by_kind["agent_reply"].data["first"]) == (
        "ann",
        "ann",
        True,
    )
    assert (by_kind["wrap_up"].actor, by_kind["back_to_bot"].actor) == ("agent:ann", "agent:ann")
    assert (by_kind["survey_sent"].agent, by_kind["survey_answered"].data["score"]) == ("ann", 5)
    assert all(e.at >= events[0].at for e in events)


async def test_a_bot_turn_writes_its_outcome(settings: Settings) -> None:
    async with console_app(settings) as running:
        customer = await running.customer("en")
        await customer.say("hello there")
        await running.app[RECORD].flush()
        (turn,) = await running.app[SERVICE_RECORD].read(
            EventQuery(conversation_id=customer.conversation_id, kinds=["bot_turn"])
        )
    assert (turn.actor, turn.channel, turn.language) == ("bot", "web", "en")
    assert (turn.data["outcome"], turn.data["intent"], turn.data["intent_confidence"]) == ("bot", "greet", 0.88)
    assert turn.data["kb_decision"] is None and turn.data["rasa_ms"] >= 0


async def test_with_the_record_off_the_app_runs_and_keeps_no_facts(tmp_path: Path, rasa_url: str) -> None:
    settings = console_settings(tmp_path, rasa_url, "").model_copy(update={"record": RecordConfig(enabled=False)})
    async with console_app(settings) as running:
        customer = await running.customer("en")
        assert (await customer.say("hello"))[0]["text"] == "echo: hello"
        assert RECORD not in running.app
        assert await running.app[SERVICE_RECORD].read() == []
