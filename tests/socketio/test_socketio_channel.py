"""Rasa's Socket.IO protocol against the front door in process (a scripted Rasa stand-in answers turns)."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from bot.channels.socketio import CHANNEL, bot_utterances
from bot.keys import BUS, CONVERSATIONS, PIPELINE
from bot.pipeline import conversation_topic
from bot.settings import Settings
from conversations.models import Sender
from conversations.store import MessageDraft
from server.app import create_app
from tests.socketio.webchat_client import RasaWebchatClient
from web.rate_limits import RateLimitConfig
from web.tokens import token_hash

Make = Callable[[], Awaitable[RasaWebchatClient]]


async def conversation_of(frontdoor: TestServer, session_id: str) -> str:
    store = frontdoor.app[PIPELINE].store
    customer, _ = await store.customer_for_identity(CHANNEL, token_hash(session_id))
    conversation = await store.open_conversation_for(customer.id, CHANNEL)
    assert conversation is not None
    return conversation.id


async def test_a_session_request_without_an_id_is_confirmed_with_a_fresh_one(webchat: Make) -> None:
    client = await webchat()
    session_id = await client.connect(None)
    assert re.fullmatch(r"[0-9a-f]{32}", session_id)


async def test_a_returning_session_keeps_its_id_and_a_guessable_one_is_replaced(webchat: Make) -> None:
    client = await webchat()
    assert await client.connect("a" * 32) == "a" * 32
    other = await webchat()
    assert await other.connect("1") != "1"


async def test_a_user_utterance_gets_the_bots_reply_exactly_once(webchat: Make) -> None:
    client = await webchat()
    session_id = await client.connect()
    await client.say("hello there", session_id)
    assert await client.next() == {"text": "echo: hello there"}
    assert await client.nothing_more()


async def test_buttons_arrive_as_quick_replies_on_the_last_paragraph(webchat: Make, frontdoor: TestServer) -> None:
    client = await webchat()
    session_id = await client.connect()
    await client.say("menu", session_id)
    assert await client.next() == {"text": "Pick one.", "quick_replies": []}
    assert await client.next() == {
        "text": "Which do you want?",
        "quick_replies": [
            {"content_type": "text", "title": "Yes please", "payload": "/affirm"},
            {"content_type": "text", "title": "No", "payload": "/deny"},
        ],
    }
    await client.say("/affirm", session_id)  # rasa-webchat sends a quick reply's payload as the message
    assert await client.next() == {"text": "Great, you said yes."}
    history = await frontdoor.app[PIPELINE].store.history(await conversation_of(frontdoor, session_id))
    assert [m.text for m in history if m.sender is Sender.CUSTOMER] == ["menu", "Yes please"]


async def test_agent_messages_and_notices_are_pushed_as_bot_utterances(webchat: Make, frontdoor: TestServer) -> None:
    client = await webchat()
    session_id = await client.connect()
    await client.say("hi", session_id)
    await client.next()
    conversation_id = await conversation_of(frontdoor, session_id)
    await frontdoor.app[PIPELINE].post_from_agent(conversation_id, "agent_ann", "Hello, I'm Ann.")
    assert await client.next() == {"text": "Hello, I'm Ann."}
    await frontdoor.app[PIPELINE].post_notice(conversation_id, [MessageDraft(Sender.SYSTEM, "Ann joined the chat.")])
    assert await client.next() == {"text": "Ann joined the chat."}
    await frontdoor.app[BUS].publish(conversation_topic(conversation_id), {"type": "notice", "text": "You are next."})
    assert await client.next() == {"text": "You are next."}
    await frontdoor.app[BUS].publish(
        conversation_topic(conversation_id), {"type": "typing", "who": "agent", "on": True}
    )
    assert await client.nothing_more()


async def test_a_reconnecting_session_continues_its_conversation(webchat: Make, frontdoor: TestServer) -> None:
    first = await webchat()
    session_id = await first.connect()
    await first.say("one", session_id)
    await first.next()
    conversation_id = await conversation_of(frontdoor, session_id)
    await first.close()

    again = await webchat()
    assert await again.connect(session_id) == session_id
    await frontdoor.app[PIPELINE].post_from_agent(conversation_id, "agent_ann", "Still there?")
    assert await again.next() == {"text": "Still there?"}  # followed at session_request, before any message
    await again.say("two", session_id)
    assert await again.next() == {"text": "echo: two"}
    assert await conversation_of(frontdoor, session_id) == conversation_id


async def test_two_sessions_never_see_each_others_replies(webchat: Make) -> None:
    alice, bob = await webchat(), await webchat()
    alice_session, bob_session = await alice.connect(), await bob.connect()
    await alice.say("from alice", alice_session)
    await bob.say("from bob", bob_session)
    assert await alice.next() == {"text": "echo: from alice"}
    assert await bob.next() == {"text": "echo: from bob"}
    assert await alice.nothing_more() and await bob.nothing_more()


async def test_unusable_messages_are_ignored(webchat: Make) -> None:
    client = await webchat()
    session_id = await client.connect()
    await client.sio.emit("user_uttered", "not an object")
    await client.sio.emit("user_uttered", {"message": 5, "session_id": session_id})
    await client.sio.emit("user_uttered", {"message": "x" * 2001, "session_id": session_id})
    for bad in ("nul \x00", "lone \ud800 surrogate", "escape \x1b[2J"):  # the one free-text rule
        await client.sio.emit("user_uttered", {"message": bad, "session_id": session_id})
    await client.say("still works", session_id)
    assert await client.next() == {"text": "echo: still works"}


def test_messages_map_to_rasas_socketio_payloads() -> None:
    base = {"sender": "bot", "buttons": [], "custom": {}}
    assert bot_utterances(base | {"text": "a\n\nb"}) == [{"text": "a"}, {"text": "b"}]
    assert bot_utterances(base | {"text": "", "custom": {"image": "https://x/y.png"}}) == [
        {"attachment": {"type": "image", "payload": {"src": "https://x/y.png"}}}
    ]
    assert bot_utterances(base | {"text": ""}) == []
    # Each paragraph is checked alone: a code fence split in two would otherwise set a link free.
    fenced = "```\n\n[x](javascript:alert(1))\n```"
    assert [u["text"] for u in bot_utterances(base | {"text": fenced})] == ["```", "x: javascript:alert(1)\n\\`"]


async def test_rasa_webchats_init_payload_is_never_taken_for_the_customers_words(
    webchat: Make, frontdoor: TestServer
) -> None:
    client = await webchat()
    session_id = await client.connect()
    await client.say("/get_started", session_id)  # a new page: no conversation is opened for it
    assert await client.nothing_more()
    await client.say("hello", session_id)
    await client.next()
    await client.say("/get_started", session_id)  # the page reloaded: nothing recorded, nothing asked
    assert await client.nothing_more()
    history = await frontdoor.app[PIPELINE].store.history(await conversation_of(frontdoor, session_id))
    assert [m.text for m in history if m.sender is Sender.CUSTOMER] == ["hello"]


async def test_messages_past_the_conversations_limit_are_dropped(tmp_path: Path, rasa_url: str) -> None:
    limits = RateLimitConfig(messages_per_conversation="2/minute")
    server = TestServer(create_app(Settings(var_dir=tmp_path, rasa_url=rasa_url, limits=limits)), host="127.0.0.1")
    await server.start_server()
    client = RasaWebchatClient(str(server.make_url("")).rstrip("/"))
    try:
        session_id = await client.connect()
        for text in ("one", "two", "three"):
            await client.say(text, session_id)
        assert [await client.next(), await client.next()] == [{"text": "echo: one"}, {"text": "echo: two"}]
        assert await client.nothing_more()
    finally:
        await client.close()
        await server.close()


DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    "packet",
    [
        '2["user_uttered", {"message": ' + DEEP + "}]",
        '2["user_uttered", {"message": "\\ud800 lone", "session_id": "x"}]',
        '2["user_uttered", {"message": "a\\u0000b"}]',
        '2["user_uttered", {"message": 99999999999999999999999}]',
        '2["user_uttered"',
        "2" + DEEP,
    ],
    ids=["nested-message", "lone-surrogate", "nul", "beyond-64-bits", "truncated", "nested-packet"],
)
async def test_hostile_packets_are_refused_quietly_and_the_chat_goes_on(
    webchat: Make, frontdoor: TestServer, caplog: pytest.LogCaptureFixture, packet: str
) -> None:
    client = await webchat()
    session_id = await client.connect()
    await client.sio.eio.send(packet)
    await client.sio.emit("user_uttered", {"message": b"\x00binary attachment", "session_id": session_id})
    await client.say("still works", session_id)
    assert await client.next() == {"text": "echo: still works"}
    conversation_id = await conversation_of(frontdoor, session_id)
    history = await frontdoor.app[CONVERSATIONS].history(conversation_id)
    assert [m.text for m in history if m.sender.value == "customer"] == ["still works"]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_markdown_reaches_rasa_webchat_as_markdown_and_hostile_links_as_words(webchat: Make) -> None:
    client = await webchat()
    session_id = await client.connect()
    await client.say("**Returns** are free: [policy](https://shop.example/r)", session_id)
    assert await client.next() == {"text": "echo: **Returns** are free: [policy](https://shop.example/r)"}
    # rasa-webchat renders links with its URI check turned off: a customer's echoed words must not become one.
    await client.say("[win](javascript:alert(1)) <img src=x onerror=alert(2)>", session_id)
    assert await client.next() == {"text": r"echo: win: javascript:alert(1) \<img src=x onerror=alert(2)\>"}
