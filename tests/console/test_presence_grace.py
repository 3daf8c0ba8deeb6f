"""An agent whose last console socket closes (the Tickets page, a reload, a closed tab) keeps her presence and chats
for `FD_HANDOFF_PRESENCE_GRACE_S` but gets no new chat meanwhile: reopening within it changes nothing, on this replica
or (Redis) another; only after it does she go offline and her chats go back to the queue. Choosing offline is still
immediate."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.handoff_bridge import HANDOFF
from handoff.agents import Presence
from handoff.ownership import OwnershipState
from handoff.service import HandoffService
from tests.console.conftest import ChatCustomer, Running, Staff, console_app, console_settings, is_event, next_frame

WAIT_S = 5.0


@contextlib.asynccontextmanager
async def app_with_grace(tmp_path: Path, rasa_url: str, backend: str, grace_s: float) -> AsyncIterator[Running]:
    async with console_app(console_settings(tmp_path, rasa_url, backend, presence_grace_s=grace_s)) as harness:
        yield harness


async def eventually(check: Callable[[], Any], timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def gone(service: HandoffService, agent_id: str) -> None:
    """Until the server has counted the agent's last socket as closed."""

    async def check() -> bool:
        status = await service.store.get_agent(agent_id)
        return status is not None and status.disconnected_at is not None

    await eventually(check)


def offline_requeues(record: Any) -> int:
    return sum(1 for e in record.events if e.data.get("cause") == "agent_offline")


def joined_notices(messages: list[dict[str, Any]]) -> int:
    return sum(1 for m in messages if m["sender"] == "system" and m["text"] == "Ann from our team has joined the chat.")


async def served(running: Running) -> tuple[ChatCustomer, Staff, Any]:
    """A customer handed to agent ann, whose console socket is open (the caller closes it)."""
    customer = await running.customer("en")
    await customer.say("I want a human")
    ann = await running.staff("ann")
    ws = await ann.socket()
    await next_frame(ws, lambda f: f["type"] == "ready")
    await ws.send_json({"type": "presence", "presence": "online"})
    assigned = await next_frame(ws, is_event("assigned", "agent:"))
    assert assigned["event"]["conversation_id"] == customer.conversation_id
    await customer.wait_for(lambda m: m["sender"] == "system" and "Ann" in m["text"])
    return customer, ann, ws


async def test_reopening_the_console_within_the_grace_period_keeps_the_chat(
    tmp_path: Path, rasa_url: str, backend: str
) -> None:
    async with app_with_grace(tmp_path, rasa_url, backend, grace_s=60.0) as running:
        service = running.app[HANDOFF]
        customer, ann, ws = await served(running)
        cid = customer.conversation_id
        for _ in range(3):  # to the Tickets page and back, a reload, …
            await ws.close()
            await gone(service, "ann")
            await asyncio.sleep(0.6)  # a few sweeps (every 0.2 s) pass with no console open
            status = await service.store.get_agent("ann")
            assert status is not None and status.presence is Presence.ONLINE and status.chats == (cid,)
            ws = await ann.socket()
            ready = await next_frame(ws, lambda f: f["type"] == "ready")
            assert ready["state"]["me"]["agent"]["presence"] == "online"
            assert [r["conversation_id"] for r in ready["state"]["inbox"]] == [cid]
        await ws.close()
        record = await service.state_of(cid)
        assert record is not None and record.state is OwnershipState.ASSIGNED and record.agent_id == "ann"
        assert offline_requeues(record) == 0
        assert joined_notices(await customer.history()) == 1


async def test_within_the_grace_period_a_new_customer_goes_to_a_connected_agent_not_to_her(
    tmp_path: Path, rasa_url: str, backend: str
) -> None:
    async with app_with_grace(tmp_path, rasa_url, backend, grace_s=60.0) as running:
        service = running.app[HANDOFF]
        customer, ann, ws = await served(running)
        await ws.close()  # ann moves to the Tickets page
        await gone(service, "ann")
        second = await running.customer("en")
        await second.say("I want a human")
        waiting = await service.state_of(second.conversation_id)
        assert waiting is not None and waiting.state is OwnershipState.QUEUED  # nobody else is here
        await asyncio.sleep(0.5)  # the sweeper's catch-up assignment runs and gives it to nobody either
        waiting = await service.state_of(second.conversation_id)
        assert waiting is not None and waiting.state is OwnershipState.QUEUED
        bob = await running.staff("bob")
        bob_ws = await bob.socket()
        await next_frame(bob_ws, lambda f: f["type"] == "ready")
        await bob_ws.send_json({"type": "presence", "presence": "online"})
        assigned = await next_frame(bob_ws, is_event("assigned", "agent:"))
        assert assigned["event"]["conversation_id"] == second.conversation_id
        third = await running.customer("en")
        await third.say("I want a human")
        assigned = await next_frame(bob_ws, is_event("assigned", "agent:"))
        assert assigned["event"]["conversation_id"] == third.conversation_id
        mine = await service.state_of(customer.conversation_id)
        assert mine is not None and mine.state is OwnershipState.ASSIGNED and mine.agent_id == "ann"
        status = await service.store.get_agent("ann")
        assert status is not None and status.presence is Presence.ONLINE and status.chats == (customer.conversation_id,)
        await bob_ws.close()
        # Back on the console page: as she was, and the next customer may go to her again.
        ws = await ann.socket()
        ready = await next_frame(ws, lambda f: f["type"] == "ready")
        assert ready["state"]["me"]["agent"]["presence"] == "online"
        assert [r["conversation_id"] for r in ready["state"]["inbox"]] == [customer.conversation_id]
        fourth = await running.customer("en")
        await fourth.say("I want a human")
        assigned = await next_frame(ws, is_event("assigned", "agent:"))
        assert assigned["event"]["conversation_id"] == fourth.conversation_id
        await ws.close()


async def test_after_the_grace_period_the_agent_goes_offline_and_the_chat_is_requeued(
    tmp_path: Path, rasa_url: str, backend: str
) -> None:
    async with app_with_grace(tmp_path, rasa_url, backend, grace_s=0.5) as running:
        service = running.app[HANDOFF]
        customer, ann, ws = await served(running)
        cid = customer.conversation_id
        await ws.close()
        closed_at = time.time()

        async def requeued() -> bool:
            record = await service.state_of(cid)
            return record is not None and record.state is OwnershipState.QUEUED

        await eventually(requeued)
        assert time.time() - closed_at >= 0.5  # not before the grace period
        status = await service.store.get_agent("ann")
        assert status is not None and status.presence is Presence.OFFLINE and status.chats == ()
        record = await service.state_of(cid)
        assert record is not None and offline_requeues(record) == 1

        # Coming back afterwards works as before: the console sets her online and she gets the chat again.
        ws = await ann.socket()
        ready = await next_frame(ws, lambda f: f["type"] == "ready")
        assert ready["state"]["me"]["agent"]["presence"] == "offline"
        await ws.send_json({"type": "presence", "presence": "online"})
        assigned = await next_frame(ws, is_event("assigned", "agent:"))
        assert assigned["event"]["conversation_id"] == cid
        await asyncio.sleep(1.0)  # past the grace period again, with the socket open: she stays
        status = await service.store.get_agent("ann")
        assert status is not None and status.presence is Presence.ONLINE and status.chats == (cid,)
        await ws.close()


async def test_choosing_offline_is_immediate(tmp_path: Path, rasa_url: str, backend: str) -> None:
    async with app_with_grace(tmp_path, rasa_url, backend, grace_s=60.0) as running:
        service = running.app[HANDOFF]
        customer, _ann, ws = await served(running)
        await ws.send_json({"type": "presence", "presence": "offline"})
        reply = await next_frame(ws, lambda f: f["type"] == "presence" and f["agent"]["presence"] == "offline")
        assert reply["agent"]["chats"] == []
        record = await service.state_of(customer.conversation_id)
        assert record is not None and record.state is OwnershipState.QUEUED and offline_requeues(record) == 1
        await ws.close()
        await gone(service, "ann")
        await asyncio.sleep(0.4)  # the sweeper has nothing more to do
        record = await service.state_of(customer.conversation_id)
        assert record is not None and offline_requeues(record) == 1


async def test_reopening_on_another_replica_within_the_grace_period_keeps_the_chat(
    tmp_path: Path, rasa_url: str, backend: str
) -> None:
    if not backend:
        pytest.skip("replicas share handoff state only through Redis")
    async with (
        app_with_grace(tmp_path / "a", rasa_url, backend, grace_s=1.0) as first,
        app_with_grace(tmp_path / "b", rasa_url, backend, grace_s=1.0) as second,
    ):
        service = first.app[HANDOFF]
        customer, _ann, ws = await served(first)
        cid = customer.conversation_id
        await ws.close()
        await gone(service, "ann")
        # The same member on the other replica (its own staff directory, as both share no database here).
        ann_b = await second.staff("ann")
        ws = await ann_b.socket()
        ready = await next_frame(ws, lambda f: f["type"] == "ready")
        assert [r["conversation_id"] for r in ready["state"]["inbox"]] == [cid]
        await asyncio.sleep(1.6)  # past the grace period: both replicas' sweepers ran
        status = await service.store.get_agent("ann")
        assert status is not None and status.presence is Presence.ONLINE and status.chats == (cid,)
        record = await service.state_of(cid)
        assert record is not None and record.agent_id == "ann" and offline_requeues(record) == 0
        assert joined_notices(await customer.history()) == 1
        await ws.close()
        await gone(service, "ann")  # and once closed there too, the grace period runs out as usual

        async def offline() -> bool:
            status = await service.store.get_agent("ann")
            return status is not None and status.presence is Presence.OFFLINE

        await eventually(offline)


async def test_a_replica_stopping_counts_its_sockets_closed_and_the_agent_resumes_on_another(
    tmp_path: Path, rasa_url: str, backend: str
) -> None:
    if not backend:
        pytest.skip("replicas share handoff state only through Redis")
    async with app_with_grace(tmp_path / "b", rasa_url, backend, grace_s=60.0) as second:
        service = second.app[HANDOFF]
        async with app_with_grace(tmp_path / "a", rasa_url, backend, grace_s=60.0) as first:
            customer, _ann, _ws = await served(first)
            cid = customer.conversation_id
        # Replica A stopped (a rolling restart) with her socket open: she is gone from every console, not offline.
        status = await service.store.get_agent("ann")
        assert status is not None and status.disconnected_at is not None
        assert status.presence is Presence.ONLINE and status.chats == (cid,)
        ws = await (await second.staff("ann")).socket()
        ready = await next_frame(ws, lambda f: f["type"] == "ready")
        assert [r["conversation_id"] for r in ready["state"]["inbox"]] == [cid]
        status = await service.store.get_agent("ann")
        assert status is not None and status.disconnected_at is None
        await ws.close()
