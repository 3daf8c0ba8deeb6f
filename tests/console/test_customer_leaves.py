"""A customer who leaves the queue, by closing the chat or by going silent, is abandoned: the console stops listing
them and their next message goes to the bot. Through the real app in-process, on both handoff backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.handoff_bridge import HANDOFF
from handoff import EventKind, OwnershipState
from staff.auth import Role
from tests.console.conftest import (
    EVENT_TIMEOUT_S,
    ChatCustomer,
    Running,
    Staff,
    console_app,
    console_settings,
    is_event,
    next_frame,
)


async def close(customer: ChatCustomer, token: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token or customer.token}"}
    path = f"/api/v1/conversations/{customer.conversation_id}/close"
    async with customer.session.post(path, headers=headers) as response:
        return response.status, await response.json()


async def waiting_ids(supervisor: Staff) -> list[str]:
    """The queue as a supervisor's console lists it."""
    status, state = await supervisor.call("GET", "/state")
    assert status == 200
    return [item["conversation_id"] for item in state["queue"]]


async def state_of(running: Running, conversation_id: str) -> Any:
    return await running.app[HANDOFF].state_of(conversation_id)


async def test_a_customer_who_closes_the_chat_leaves_the_queue(running: Running) -> None:
    customer, other = await running.customer("en"), await running.customer("en")
    await customer.say("human please")
    await other.say("human please")
    ann = await running.staff("ann")  # an agent, offline: nobody takes the chats
    sam = await running.staff("sam", Role.SUPERVISOR)
    assert await waiting_ids(sam) == [customer.conversation_id, other.conversation_id]
    async with ann.socket() as console:
        await next_frame(console, lambda f: f["type"] == "ready")
        assert (await close(customer, "wrong-token"))[0] == 401
        status, body = await close(customer)
        assert (status, body) == (200, {"left_queue": True})
        event = await next_frame(console, is_event("abandoned", "handoff"))
        assert (event["event"]["conversation_id"], event["event"]["cause"]) == (customer.conversation_id, "left")
    assert await waiting_ids(sam) == [other.conversation_id]
    record = await state_of(running, customer.conversation_id)
    assert record.state is OwnershipState.ABANDONED
    assert [e.kind for e in record.events] == [EventKind.TRIGGER, EventKind.ABANDON]
    assert await close(customer) == (200, {"left_queue": False})  # idempotent
    # The next message goes to the bot, and asking again queues afresh.
    assert [m["text"] for m in await customer.say("are you there")] == ["echo: are you there"]
    await customer.say("human please")
    assert await waiting_ids(sam) == [other.conversation_id, customer.conversation_id]


async def test_closing_a_chat_nobody_handed_off_only_closes_it(running: Running) -> None:
    customer = await running.customer("en")
    await customer.say("hello")
    assert await close(customer) == (200, {"left_queue": False})
    assert await state_of(running, customer.conversation_id) is None


@pytest.fixture
async def impatient(tmp_path: Path, rasa_url: str, backend: str) -> AsyncIterator[Running]:
    """Customers silent in the queue for a second have left (the sweeper runs every 0.2 s)."""
    settings = console_settings(tmp_path, rasa_url, backend, abandon_after_s=1)
    async with console_app(settings) as harness:
        yield harness


async def wait_for_state(running: Running, conversation_id: str, state: OwnershipState) -> Any:
    deadline = asyncio.get_running_loop().time() + EVENT_TIMEOUT_S
    while True:
        record = await state_of(running, conversation_id)
        if record is not None and record.state is state:
            return record
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{conversation_id} is {record}, not {state}")
        await asyncio.sleep(0.05)


async def test_a_customer_silent_in_the_queue_is_abandoned_but_an_open_chat_window_keeps_its_place(
    impatient: Running,
) -> None:
    silent, watching = await impatient.customer("en"), await impatient.customer("en")
    sam = await impatient.staff("sam", Role.SUPERVISOR)
    await silent.say("human please")
    async with watching.session.ws_connect(f"/api/v1/conversations/{watching.conversation_id}/ws") as ws:
        await ws.send_json({"type": "hello", "token": watching.token})
        await next_frame(ws, lambda f: f["type"] == "ready")
        await ws.send_json({"type": "message", "text": "human please"})
        await wait_for_state(impatient, watching.conversation_id, OwnershipState.QUEUED)
        record = await wait_for_state(impatient, silent.conversation_id, OwnershipState.ABANDONED)
        assert record.events[-1].data == {"cause": "silent"}
        await asyncio.sleep(1.5)  # longer than the limit: the open window (reporting every 0.25 s) keeps it queued
        assert await waiting_ids(sam) == [watching.conversation_id]
    # The window closed for good: a second later the customer has left too.
    await wait_for_state(impatient, watching.conversation_id, OwnershipState.ABANDONED)
    assert await waiting_ids(sam) == []
    assert [m["text"] for m in await silent.say("hello again")] == ["echo: hello again"]
