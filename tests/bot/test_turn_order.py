"""A peak through the front door, against a Rasa stand-in that holds turns until told (`HeldRasa`): one conversation's
turns never run at once, whatever the channel; turns beyond Rasa's slots wait in arrival order, so a chatty
conversation cannot crowd out others; and a slow turn shows the bot typing until it answers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from bot.keys import RASA
from bot.rasa_client import RasaClient
from tests.bot.held_rasa import WAIT_S, HeldRasa
from tests.conftest import customer_program_answering, scripted_rasa

Client = TestClient  # type: ignore[type-arg]
# How long a held turn gives the conversation's other turns to (wrongly) reach Rasa: only a chance to fail, so a
# slow machine can make the check weaker, never wrong.
QUIET_S = 0.5


async def start(client: Client) -> tuple[str, dict[str, str]]:
    """A new conversation: its id and the headers that send as its customer."""
    response = await client.post("/api/v1/conversations", json={})
    started = await response.json()
    return started["conversation_id"], {"Authorization": f"Bearer {started['customer_token']}"}


async def send(client: Client, conversation_id: str, headers: dict[str, str], text: str) -> list[dict[str, Any]]:
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"text": text}, headers=headers
    )
    assert response.status == 200
    messages: list[dict[str, Any]] = (await response.json())["messages"]
    return messages


@asynccontextmanager
async def live_socket(client: Client, conversation_id: str, headers: dict[str, str]) -> AsyncIterator[Any]:
    """The conversation's customer WebSocket, past its `ready` frame."""
    token = headers["Authorization"].removeprefix("Bearer ")
    async with client.ws_connect(f"/api/v1/conversations/{conversation_id}/ws") as ws:
        await ws.send_json({"type": "hello", "token": token})
        assert (await ws.receive_json(timeout=WAIT_S))["type"] == "ready"
        yield ws


async def until_bot_message(ws: Any) -> list[dict[str, Any]]:
    """The frames a socket receives up to and including the bot's next message."""
    frames = []
    while not frames or frames[-1].get("message", {}).get("sender") != "bot":
        frames.append(await ws.receive_json(timeout=WAIT_S))
    return frames


async def answer_one_by_one(rasa: HeldRasa, turns: int) -> None:
    """Lets the held turns answer one at a time, each once the next has arrived (the last: at once)."""
    for arrived in range(1, turns + 1):
        await rasa.arrivals(arrived)
        rasa.release_next()


async def test_sends_of_every_kind_never_run_two_turns_of_one_conversation_at_once(tmp_path: Path) -> None:
    rasa = HeldRasa()
    async with customer_program_answering(tmp_path, rasa.turn) as client:
        conversation_id, headers = await start(client)
        async with (
            live_socket(client, conversation_id, headers) as first,
            live_socket(client, conversation_id, headers) as second,
        ):
            # Sends without a client message id, from two sockets and the HTTP API, all at once.
            await first.send_json({"type": "message", "text": "socket one"})
            await second.send_json({"type": "message", "text": "socket two"})
            posts = [asyncio.create_task(send(client, conversation_id, headers, f"post {i}")) for i in range(2)]
            await rasa.arrivals(1)
            # While the first is held, no other turn of the conversation reaches Rasa (given a moment to try).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(rasa.arrivals(2), QUIET_S)
            assert len(rasa.arrived) == 1
            await answer_one_by_one(rasa, 4)
            answers = await asyncio.gather(*posts)
    assert rasa.most_at_once_per_sender == 1
    assert sorted(text for _, text in rasa.arrived) == ["post 0", "post 1", "socket one", "socket two"]
    assert all(any(m["text"].startswith("echo:") for m in answer) for answer in answers)


async def test_turns_beyond_a_servers_slots_wait_in_arrival_order() -> None:
    rasa = HeldRasa()
    async with scripted_rasa(rasa.turn) as url, aiohttp.ClientSession() as http:
        client = RasaClient(http, url, timeout_s=WAIT_S, max_turns=2)
        turns = [asyncio.create_task(client.turn(f"c{i}", "hello", {})) for i in range(6)]
        await rasa.arrivals(2)
        assert client.waiting == 4 and {sender for sender, _ in rasa.arrived} == {"c0", "c1"}
        for arrived in range(3, 7):
            rasa.release_next()
            await rasa.arrivals(arrived)
        rasa.release_all()
        await asyncio.gather(*turns)
    assert [sender for sender, _ in rasa.arrived[2:]] == ["c2", "c3", "c4", "c5"]
    assert rasa.most_at_once == 2


async def test_a_chatty_conversation_queues_behind_its_own_turns_not_ahead_of_others(tmp_path: Path) -> None:
    rasa = HeldRasa()
    async with customer_program_answering(tmp_path, rasa.turn, rasa_max_turns=1) as client:
        chatty, chatty_headers = await start(client)
        quiet, quiet_headers = await start(client)
        first = asyncio.create_task(send(client, chatty, chatty_headers, "chatty 0"))
        await rasa.arrivals(1)
        later = [asyncio.create_task(send(client, chatty, chatty_headers, f"chatty {i}")) for i in range(1, 5)]
        later.append(asyncio.create_task(send(client, quiet, quiet_headers, "quiet")))
        # Only one turn waits for Rasa: the quiet conversation's. The chatty one's wait for their own turn first.
        async with asyncio.timeout(WAIT_S):
            while client.server.app[RASA].waiting < 1:  # noqa: ASYNC110 - a count with no event, under a deadline
                await asyncio.sleep(0.01)
        assert client.server.app[RASA].waiting == 1
        await answer_one_by_one(rasa, 6)
        await asyncio.gather(first, *later)
    senders = [sender for sender, _ in rasa.arrived]
    assert senders == [chatty, quiet, chatty, chatty, chatty, chatty]


async def test_a_slow_turn_shows_the_bot_typing_until_it_answers(tmp_path: Path) -> None:
    rasa = HeldRasa()
    async with customer_program_answering(tmp_path, rasa.turn, typing_after_s=0) as client:
        conversation_id, headers = await start(client)
        async with live_socket(client, conversation_id, headers) as ws:
            await ws.send_json({"type": "message", "text": "hello"})
            await rasa.arrivals(1)
            typing = [await ws.receive_json(timeout=WAIT_S) for _ in range(2)][-1]
            rasa.release_next()
            answered = await until_bot_message(ws)
            stopped = await ws.receive_json(timeout=WAIT_S)
    assert typing == {"type": "typing", "who": "bot", "on": True}
    assert [frame["type"] for frame in answered] == ["message"]
    assert stopped == {"type": "typing", "who": "bot", "on": False}


async def test_a_quick_turn_shows_no_typing(tmp_path: Path) -> None:
    rasa = HeldRasa(holding=False)
    async with customer_program_answering(tmp_path, rasa.turn, typing_after_s=60) as client:
        conversation_id, headers = await start(client)
        async with live_socket(client, conversation_id, headers) as ws:
            frames = []
            for text in ("hello", "thanks"):
                await ws.send_json({"type": "message", "text": text})
                frames += await until_bot_message(ws)
    assert [frame["type"] for frame in frames] == ["message"] * 4
