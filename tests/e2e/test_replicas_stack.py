"""Scale-out, proven: two front doors and two Rasa servers, sharing PostgreSQL and Redis, behind HAProxy running
`deploy/haproxy.cfg` (the configuration docs/operations.md shows).

A customer on replica A is handed to an agent on replica B; the agent's replies reach the customer's socket on A and
the customer's words reach the console on B. Replica A is then killed (SIGKILL) mid-conversation: the customer's
client reconnects through the balancer, lands on B, gets what it missed exactly once, and the chat goes on to the
close and the rating. Both Rasa servers read the one tracker.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import asyncpg
import pytest
import redis
from yarl import URL

from bot.stack import Replicas, running_replicas
from tests.conftest import POSTGRES_URL, REDIS_URL, send_csrf_token
from tests.e2e.conftest import ROOT, Customer, add_agent

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

TIMEOUT_S = 30.0
FRONTDOOR_REDIS_DB = 10
LOCK_STORE_REDIS_DB = 11


async def _create_schemas(*names: str) -> None:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        for name in names:
            await conn.execute(f'CREATE SCHEMA "{name}"')
    finally:
        await conn.close()


async def _drop_schemas(*names: str) -> None:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        for name in names:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        await conn.close()


def _flush(*db_numbers: int) -> None:
    for number in db_numbers:
        with redis.Redis.from_url(f"{REDIS_URL}/{number}") as client:
            client.flushdb()


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Replicas, str]]:
    schema = f"fd_replicas_{secrets.token_hex(4)}"
    rasa_schema = f"{schema}_rasa"
    asyncio.run(_create_schemas(schema, rasa_schema))
    _flush(FRONTDOOR_REDIS_DB, LOCK_STORE_REDIS_DB)
    try:
        with running_replicas(
            ROOT,
            tmp_path_factory.mktemp("replicas"),
            os.environ,
            database_url=POSTGRES_URL,
            database_schema=schema,
            tracker_url=f"{POSTGRES_URL}?options=-csearch_path%3D{rasa_schema}",
            redis_url=f"{REDIS_URL}/{FRONTDOOR_REDIS_DB}",
            lock_store_url=f"{REDIS_URL}/{LOCK_STORE_REDIS_DB}",
        ) as running:
            yield running, schema
    finally:
        asyncio.run(_drop_schemas(schema, rasa_schema))
        _flush(FRONTDOOR_REDIS_DB, LOCK_STORE_REDIS_DB)


@asynccontextmanager
async def pinned(replicas: Replicas, replica: str) -> AsyncIterator[aiohttp.ClientSession]:
    """A client whose balancer cookie names `replica`, as if HAProxy had placed it there."""
    jar = aiohttp.CookieJar(unsafe=True)
    jar.update_cookies({"FD_REPLICA": replica}, URL(replicas.url))
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        async with asyncio.timeout(TIMEOUT_S):  # until the balancer's own checks have seen the replica up
            while True:
                async with session.get(f"{replicas.url}/healthz") as response:
                    if response.headers.get("X-Frontdoor-Replica") == replica:
                        break
                await asyncio.sleep(0.5)
        yield session


async def console_event(ws: aiohttp.ClientWebSocketResponse, kind: str, conversation_id: str) -> dict[str, Any]:
    async with asyncio.timeout(TIMEOUT_S):
        while True:
            frame = json.loads(await ws.receive_str())
            event = frame.get("event") or {}
            cid = event.get("conversation_id") or (event.get("message") or {}).get("conversation_id")
            if frame.get("type") == "event" and event.get("type") == kind and cid == conversation_id:
                return event


class LiveChat:
    """The customer's live-chat socket, as widget.js holds it: hello with the last seq seen, then messages."""

    def __init__(self, session: aiohttp.ClientSession, replicas: Replicas, customer: Customer) -> None:
        self.session, self.replicas, self.customer = session, replicas, customer
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.seen: list[dict[str, Any]] = []

    @property
    def last_seq(self) -> int:
        return max((m["seq"] for m in self.seen), default=0)

    async def connect(self) -> list[dict[str, Any]]:
        """Connects (retrying while the balancer notices a dead replica) and returns the backlog it was sent."""
        url = f"{self.replicas.url}/api/v1/conversations/{self.customer.conversation_id}/ws"
        async with asyncio.timeout(TIMEOUT_S):
            while True:
                try:
                    self.ws = await self.session.ws_connect(url)
                    await self.ws.send_json({"type": "hello", "token": self.customer.token, "after": self.last_seq})
                    ready = await self.ws.receive_json()
                    break
                except (aiohttp.ClientError, TypeError):  # TypeError: a closed socket's frame is not JSON
                    await asyncio.sleep(0.5)
        assert ready["type"] == "ready", ready
        self.seen.extend(ready["messages"])
        return list(ready["messages"])

    async def send(self, text: str) -> None:
        assert self.ws is not None
        await self.ws.send_json({"type": "message", "text": text})

    async def next_message(self, sender: str) -> dict[str, Any]:
        """The next message from `sender` (any sender: ""), noting every message read on the way."""
        assert self.ws is not None
        async with asyncio.timeout(TIMEOUT_S):
            while True:
                frame = await self.ws.receive_json()
                if frame.get("type") == "message":
                    self.seen.append(frame["message"])
                    if frame["message"]["sender"] == sender or not sender:
                        return dict(frame["message"])

    async def read_until(self, seq: int) -> None:
        while self.last_seq < seq:
            await self.next_message("")

    async def closed(self) -> None:
        assert self.ws is not None
        async with asyncio.timeout(TIMEOUT_S):
            while not self.ws.closed:
                message = await self.ws.receive()
                if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break


@pytest.mark.timeout(1500)  # two Rasa servers and two front doors start first: minutes on two busy cores
async def test_a_customer_on_replica_a_is_served_from_replica_b_and_survives_a_dying(
    replicas: tuple[Replicas, str],
) -> None:
    stack, schema = replicas
    username, password = f"agent_{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    settings = {"FD_DATABASE_URL": POSTGRES_URL, "FD_DATABASE_SCHEMA": schema}
    await asyncio.to_thread(functools.partial(add_agent, username, password, **settings))

    async with pinned(stack, "a") as on_a, pinned(stack, "b") as agent:
        customer = Customer(on_a, stack.url)
        await customer.start(language="en")
        chat = LiveChat(on_a, stack, customer)
        await chat.connect()
        greeting = await customer.say("hello")  # a Rasa turn, then another: trackers are shared, locks in Redis
        assert [m for m in greeting if m["sender"] == "bot"], greeting
        queued = await customer.say("I want to talk to a person")
        assert any("queue" in m["text"] for m in queued if m["sender"] == "system"), queued
        for rasa_url in stack.rasa_urls.values():  # whichever took each turn, every server reads the whole dialogue
            async with on_a.get(f"{rasa_url}/conversations/{customer.conversation_id}/tracker") as response:
                events = (await response.json())["events"]
            said = [e["text"] for e in events if e["event"] == "user"]
            # A plain request for a person reaches Rasa as its intent (handoff/requests.py); the transcript keeps it.
            assert said == ["hello", "/request_human"], said

        login = {"username": username, "password": password}
        async with agent.post(f"{stack.url}/login", data=login, allow_redirects=False) as response:
            assert response.headers["X-Frontdoor-Replica"] == "b"
        send_csrf_token(agent)
        path = f"{stack.url}/api/v1/console/conversations/{customer.conversation_id}"
        async with agent.ws_connect(f"{stack.url}/api/v1/console/ws") as console:
            await console.send_json({"type": "presence", "presence": "online"})
            await console_event(console, "assigned", customer.conversation_id)

            async with agent.post(f"{path}/messages", json={"text": "Hi, I'm here to help."}) as response:
                assert response.status == 200, await response.text()
            assert (await chat.next_message("agent"))["text"] == "Hi, I'm here to help."  # B's reply, A's socket
            await chat.send("My parcel has not moved for a week.")
            heard = await console_event(console, "customer_message", customer.conversation_id)
            assert heard["message"]["text"] == "My parcel has not moved for a week."  # A's message, B's console

            stack.kill("a")
            await chat.closed()
            async with agent.post(f"{path}/messages", json={"text": "I have asked the courier."}) as response:
                assert response.status == 200, await response.text()
            before = chat.last_seq
            missed = await chat.connect()  # through the balancer, which now sends replica A's clients to B
            assert all(m["seq"] > before for m in missed)  # only what it had not seen...
            assert ("agent", "I have asked the courier.") in [(m["sender"], m["text"]) for m in missed]  # ...all of it

            await chat.send("Thank you!")
            heard = await console_event(console, "customer_message", customer.conversation_id)
            assert heard["message"]["text"] == "Thank you!"
            async with agent.post(f"{path}/close", json={"resolution": "courier chased"}) as response:
                assert response.status == 200, await response.text()
            ask = await chat.next_message("bot")
            while not any(b["payload"].startswith("/fd_rate") for b in ask["buttons"]):
                ask = await chat.next_message("bot")
        thanks = await customer.say("5", payload='/fd_rate{"score":5}')
        assert thanks and thanks[-1]["sender"] == "bot", thanks

        history = await customer.history()
        seqs = [m["seq"] for m in history]
        assert seqs == sorted(set(seqs))  # nothing twice
        spoken = [(m["sender"], m["text"]) for m in history if m["sender"] in ("customer", "agent")]
        assert spoken == [  # nothing lost, in order
            ("customer", "hello"),
            ("customer", "I want to talk to a person"),
            ("agent", "Hi, I'm here to help."),
            ("customer", "My parcel has not moved for a week."),
            ("agent", "I have asked the courier."),
            ("customer", "Thank you!"),
            ("customer", "5"),
        ]
        await chat.read_until(seqs[-1])
        assert sorted(m["seq"] for m in chat.seen) == seqs  # the customer's client got each message exactly once

    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        row = await conn.fetchrow(
            f'SELECT score, agent_id FROM "{schema}".handoff_surveys WHERE conversation_id = $1',
            customer.conversation_id,
        )
    finally:
        await conn.close()
    assert (row["score"], row["agent_id"]) == (5, username)
