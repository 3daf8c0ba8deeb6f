"""Client message ids: a customer's send retried with the same id (a timeout, a reconnect, a process killed between
the store and the reply) is stored once and answered once, on every channel that takes messages from customers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from backends.bus import MemoryEventBus
from backends.sql import Database
from bot.channels.base import InboundMessage
from bot.channels.socketio import CHANNEL
from bot.keys import PIPELINE
from bot.pipeline import ConversationPipeline
from bot.settings import Settings
from conversations.models import Sender
from conversations.store import ConversationStore, MessageDraft
from kb.settings import KBConfig
from server.app import create_app
from tests.bot.test_pipeline import RecordingGate, ScriptedRasa
from tests.conftest import echo_turn, echoing_customer_program, scripted_rasa
from tests.socketio.webchat_client import RasaWebchatClient
from web.tokens import token_hash

Client = TestClient  # type: ignore[type-arg]


async def customer_messages(store: ConversationStore, conversation_id: str) -> list[str]:
    return [m.text for m in await store.history(conversation_id) if m.sender is Sender.CUSTOMER]


async def test_a_message_with_a_client_id_is_stored_once_however_often_it_is_appended(database: Database) -> None:
    store = ConversationStore(database)
    customer, _ = await store.customer_for_identity("web", "v")
    conversation = await store.create_conversation(customer.id, "web")
    draft = MessageDraft(Sender.CUSTOMER, "where is my order?", client_message_id="c-1")
    results = await asyncio.gather(*(store.append_once(conversation.id, draft) for _ in range(20)))
    assert sum(fresh for _, fresh in results) == 1
    assert {message.id for message, _ in results} == {results[0][0].id}
    assert await customer_messages(store, conversation.id) == ["where is my order?"]
    # The seq the refused appends took was given back: the next message follows at once.
    (after,) = await store.append(conversation.id, [MessageDraft(Sender.BOT, "Let me look.")])
    assert after.seq == results[0][0].seq + 1
    # The same id in another conversation is another message.
    other = await store.create_conversation(customer.id, "web")
    assert (await store.append_once(other.id, draft))[1] is True


async def test_the_client_id_comes_back_with_the_message(database: Database) -> None:
    store = ConversationStore(database)
    customer, _ = await store.customer_for_identity("web", "v")
    conversation = await store.create_conversation(customer.id, "web")
    await store.append_once(conversation.id, MessageDraft(Sender.CUSTOMER, "hi", client_message_id="abc:1"))
    (message,) = await store.history(conversation.id)
    assert message.client_message_id == "abc:1" and message.to_dict()["client_message_id"] == "abc:1"
    assert await store.by_client_message_id(conversation.id, "abc:1") == message
    assert await store.by_client_message_id(conversation.id, "abc:2") is None


@pytest.fixture
async def pipeline(database: Database) -> AsyncIterator[tuple[ConversationPipeline, ScriptedRasa, ConversationStore]]:
    store = ConversationStore(database)
    rasa = ScriptedRasa()
    yield ConversationPipeline(store, rasa, MemoryEventBus(), RecordingGate()), rasa, store  # type: ignore[arg-type]


async def test_a_retry_gets_the_first_answer_and_the_bot_is_asked_once(pipeline: Any) -> None:
    pipe, rasa, store = pipeline
    conversation, _ = await pipe.open_conversation("web", "v")
    send = InboundMessage("web", "v", "hello", conversation_id=conversation.id, message_id="m-1")
    first = await pipe.receive(send)
    again = await pipe.receive(send)
    assert [m.text for m in first] == ["Hi!"] and again == first
    assert len(rasa.received) == 1
    assert await customer_messages(store, conversation.id) == ["hello"]


async def test_concurrent_retries_wait_for_the_first_answer(pipeline: Any) -> None:
    pipe, rasa, store = pipeline
    conversation, _ = await pipe.open_conversation("web", "v")
    send = InboundMessage("web", "v", "hello", conversation_id=conversation.id, message_id="m-1")
    answers = await asyncio.gather(*(pipe.receive(send) for _ in range(5)))
    assert all([m.text for m in answer] == ["Hi!"] for answer in answers)
    assert len(rasa.received) == 1
    assert await customer_messages(store, conversation.id) == ["hello"]


async def test_a_message_stored_before_a_crash_is_answered_on_retry_and_not_stored_again(pipeline: Any) -> None:
    pipe, rasa, store = pipeline
    conversation, _ = await pipe.open_conversation("web", "v")
    # What a process killed (kill -9) right after the store leaves behind: the message, and no answer.
    draft = MessageDraft(Sender.CUSTOMER, "hello", sender_id=conversation.customer_id, client_message_id="m-1")
    await store.append_once(conversation.id, draft)
    replies = await pipe.receive(InboundMessage("web", "v", "hello", conversation_id=conversation.id, message_id="m-1"))
    assert [m.text for m in replies] == ["Hi!"] and len(rasa.received) == 1
    assert await customer_messages(store, conversation.id) == ["hello"]
    assert await pipe.receive(InboundMessage("web", "v", "hello", conversation_id=conversation.id, message_id="m-1"))
    assert len(rasa.received) == 1


async def test_a_retry_of_an_older_message_answers_only_what_followed_it(pipeline: Any) -> None:
    pipe, rasa, _ = pipeline
    conversation, _ = await pipe.open_conversation("web", "v")
    first = InboundMessage("web", "v", "one", conversation_id=conversation.id, message_id="m-1")
    await pipe.receive(first)
    rasa.replies = [{"text": "Second answer."}]
    await pipe.receive(InboundMessage("web", "v", "two", conversation_id=conversation.id, message_id="m-2"))
    assert [m.text for m in await pipe.receive(first)] == ["Hi!"]


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    async with echoing_customer_program(tmp_path) as client:
        yield client


async def started(client: Client) -> tuple[str, dict[str, str]]:
    body = await (await client.post("/api/v1/conversations", json={})).json()
    return body["conversation_id"], {"Authorization": f"Bearer {body['customer_token']}"}


async def test_the_chat_api_answers_a_retried_send_with_its_first_reply(client: Client) -> None:
    conversation_id, auth = await started(client)
    path = f"/api/v1/conversations/{conversation_id}/messages"
    body = {"text": "hi", "client_message_id": "4b1e3c2a-0d6f-4c8e-9a57-2f9e1c0b7d31"}
    first = await client.post(path, json=body, headers=auth)
    again = await client.post(path, json=body, headers=auth)
    assert first.status == again.status == 200
    assert (await first.json()) == (await again.json())
    history = (await (await client.get(path, headers=auth)).json())["messages"]
    assert [m["text"] for m in history] == ["hi", "echo: hi"]
    assert history[0]["client_message_id"] == body["client_message_id"]


@pytest.mark.parametrize("bad", ["", "x" * 129, "has space", 7, "\u00e9t\u00e9"])
async def test_the_chat_api_refuses_an_unusable_client_id(client: Client, bad: object) -> None:
    conversation_id, auth = await started(client)
    path = f"/api/v1/conversations/{conversation_id}/messages"
    refused = await client.post(path, json={"text": "hi", "client_message_id": bad}, headers=auth)
    assert refused.status == 400
    assert (await refused.json())["error"]["code"] == "bad_client_message_id"
    assert (await (await client.get(path, headers=auth)).json())["messages"] == []


async def test_the_live_chat_socket_stores_a_resent_frame_once(client: Client) -> None:
    conversation_id, auth = await started(client)
    token = auth["Authorization"].removeprefix("Bearer ")
    frame = {"type": "message", "text": "hello", "client_message_id": "w-1"}
    for _ in range(2):  # the widget re-sends what it has not seen echoed after a reconnect
        async with client.ws_connect(f"/api/v1/conversations/{conversation_id}/ws") as ws:
            await ws.send_json({"type": "hello", "token": token})
            assert (await ws.receive_json())["type"] == "ready"
            await ws.send_json(frame)
            await ws.send_json({"type": "message", "text": "bad", "client_message_id": "no spaces"})
            while (received := await ws.receive_json())["type"] != "error":
                pass
            assert received["error"]["code"] == "bad_client_message_id"
    path = f"/api/v1/conversations/{conversation_id}/messages"
    history = (await (await client.get(path, headers=auth)).json())["messages"]
    assert [m["text"] for m in history] == ["hello", "echo: hello"]


async def test_socketio_stores_a_re_emitted_utterance_once(tmp_path: Path) -> None:
    async with scripted_rasa(echo_turn) as rasa_url:
        settings = Settings(var_dir=tmp_path, rasa_url=rasa_url, kb=KBConfig(seed_demo=False, preload=False))
        server = TestServer(create_app(settings), host="127.0.0.1")
        await server.start_server()
        webchat = RasaWebchatClient(str(server.make_url("")).rstrip("/"))
        try:
            session_id = await webchat.connect()
            await webchat.say("hello", session_id, client_message_id="s-1")
            assert await webchat.next() == {"text": "echo: hello"}
            await webchat.say("hello", session_id, client_message_id="s-1")
            assert await webchat.nothing_more()
            store = server.app[PIPELINE].store
            customer, _ = await store.customer_for_identity(CHANNEL, token_hash(session_id))
            conversation = await store.open_conversation_for(customer.id, CHANNEL)
            assert conversation is not None
            assert await customer_messages(store, conversation.id) == ["hello"]
        finally:
            await webchat.close()
            await server.close()
