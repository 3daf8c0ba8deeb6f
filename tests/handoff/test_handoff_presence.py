"""The console-presence contract, on every backend (memory, Redis): open console sockets are counted per agent
across processes and expire unless renewed; an agent with none open keeps her presence and chats but is offered no
new ones; once the grace period has passed she goes offline, exactly once whoever asks."""

from __future__ import annotations

from handoff import HandoffStore, OwnershipState, Presence
from tests.handoff.conftest import T0
from tests.handoff.test_handoff_contract import assign, enqueue, online

S = OwnershipState
TTL_S = 30.0


async def serving(store: HandoffStore, agent_id: str = "ann", *sockets: str) -> None:
    """`agent_id` online, with the console sockets `sockets` open (expiring at T0 + TTL_S) and chat c1."""
    await online(store, agent_id)
    for socket_id in sockets:
        assert await store.console_opened(agent_id, socket_id, T0, T0 + TTL_S)
    await store.apply(enqueue("c1"))
    owner = await store.apply(assign("c1", agent_id))
    assert owner is not None and owner.agent_id == agent_id


async def test_an_agent_gone_from_every_console_keeps_her_chat_but_is_offered_no_new_one(store: HandoffStore) -> None:
    await serving(store, "ann", "s1")
    assert await store.console_closed("ann", "s1", T0 + 2)
    status = await store.get_agent("ann")
    assert status is not None
    assert (status.presence, status.chats, status.disconnected_at) == (Presence.ONLINE, ("c1",), T0 + 2)
    assert not status.available
    await store.apply(enqueue("c2", T0 + 3))
    assert await store.apply(assign("c2", now=T0 + 4)) is None  # best available: nobody
    assert await store.apply(assign("c2", "ann", T0 + 4)) is None  # by name (a claim or a transfer): not her either
    assert await store.pull("ann", T0 + 4) is None
    await online(store, "bob")
    record = await store.apply(assign("c2", now=T0 + 5))
    assert record is not None and record.agent_id == "bob"
    mine = await store.get("c1")
    assert mine is not None and (mine.state, mine.agent_id) == (S.ASSIGNED, "ann")


async def test_an_agent_who_never_opened_a_console_is_routed_as_before(store: HandoffStore) -> None:
    await serving(store, "ann")
    status = await store.get_agent("ann")
    assert status is not None and status.disconnected_at is None and status.available


async def test_sockets_count_together_and_only_the_last_one_closing_disconnects(store: HandoffStore) -> None:
    await serving(store, "ann", "s1", "s2")  # two tabs, or one on each replica
    assert not await store.console_closed("ann", "s1", T0 + 2)
    status = await store.get_agent("ann")
    assert status is not None and status.disconnected_at is None
    assert await store.console_closed("ann", "s2", T0 + 3)
    status = await store.get_agent("ann")
    assert status is not None and status.disconnected_at == T0 + 3


async def test_reopening_a_console_makes_her_available_again_as_she_was(store: HandoffStore) -> None:
    await serving(store, "ann", "s1")
    await store.set_presence("ann", Presence.AWAY, T0 + 1)
    await store.console_closed("ann", "s1", T0 + 2)
    assert await store.console_opened("ann", "s2", T0 + 5, T0 + 5 + TTL_S)
    status = await store.get_agent("ann")
    assert status is not None
    assert (status.presence, status.presence_since, status.chats, status.disconnected_at) == (
        Presence.AWAY,
        T0 + 1,
        ("c1",),
        None,
    )
    await store.set_presence("ann", Presence.ONLINE, T0 + 6)
    await store.apply(enqueue("c2", T0 + 7))
    record = await store.apply(assign("c2", now=T0 + 8))
    assert record is not None and record.agent_id == "ann"
    assert await store.expire_presence(T0 + 1000, T0 + 1000) == []  # no grace period left running


async def test_closing_a_socket_that_is_not_open_changes_nothing(store: HandoffStore) -> None:
    await serving(store, "ann", "s1")
    assert not await store.console_closed("ann", "other", T0 + 1)
    assert not await store.console_closed("ghost", "s1", T0 + 1)
    assert await store.console_closed("ann", "s1", T0 + 2)
    assert not await store.console_closed("ann", "s1", T0 + 9)  # the shutdown's second close of the same socket
    status = await store.get_agent("ann")
    assert status is not None and status.disconnected_at == T0 + 2


async def test_unknown_agents_have_no_console(store: HandoffStore) -> None:
    assert not await store.console_opened("ghost", "s1", T0, T0 + TTL_S)
    assert await store.get_agent("ghost") is None


async def test_a_socket_not_renewed_expires_and_a_renewed_one_does_not(store: HandoffStore) -> None:
    await serving(store, "ann", "s1")
    await online(store, "bob")
    await store.console_opened("bob", "b1", T0, T0 + TTL_S)
    assert await store.expire_consoles(T0 + TTL_S - 1) == []
    await store.console_opened("bob", "b1", T0 + 20, T0 + 20 + TTL_S)  # bob's heartbeat; ann's process died
    assert await store.expire_consoles(T0 + TTL_S) == ["ann"]
    ann, bob = await store.get_agent("ann"), await store.get_agent("bob")
    assert ann is not None and ann.disconnected_at == T0 + TTL_S and ann.chats == ("c1",)
    assert bob is not None and bob.disconnected_at is None
    assert await store.expire_consoles(T0 + TTL_S + 1) == []
    assert not await store.console_closed("ann", "s1", T0 + TTL_S + 2)  # expired already
    assert await store.expire_consoles(T0 + 20 + TTL_S) == ["bob"]


async def test_a_heartbeat_after_expiry_brings_the_socket_back(store: HandoffStore) -> None:
    await serving(store, "ann", "s1")
    assert await store.expire_consoles(T0 + TTL_S) == ["ann"]  # its process stalled past the expiry
    assert await store.console_opened("ann", "s1", T0 + 31, T0 + 31 + TTL_S)
    status = await store.get_agent("ann")
    assert status is not None and status.disconnected_at is None and status.available


async def test_after_the_grace_period_she_goes_offline_once_keeping_her_chats_for_the_caller(
    store: HandoffStore,
) -> None:
    await serving(store, "ann", "s1")
    await store.console_closed("ann", "s1", T0 + 2)
    assert await store.expire_presence(T0 + 1, T0 + 31) == []  # within the grace period
    assert await store.expire_presence(T0 + 2, T0 + 32) == ["ann"]
    status = await store.get_agent("ann")
    assert status is not None
    assert (status.presence, status.presence_since, status.disconnected_at) == (Presence.OFFLINE, T0 + 32, None)
    assert status.chats == ("c1",)  # the service sends them back to the queue
    assert await store.expire_presence(T0 + 100, T0 + 100) == []


async def test_the_grace_period_ends_oldest_first_and_an_offline_agent_is_not_reported(store: HandoffStore) -> None:
    for agent_id, closed_at in (("cid", T0 + 3), ("bob", T0 + 2), ("ann", T0 + 2)):
        await online(store, agent_id)
        await store.console_opened(agent_id, f"{agent_id}-1", T0, T0 + TTL_S)
        await store.console_closed(agent_id, f"{agent_id}-1", closed_at)
    await online(store, "dee")
    await store.console_opened("dee", "dee-1", T0, T0 + TTL_S)
    await store.set_presence("dee", Presence.OFFLINE, T0 + 1)  # chose offline, then closed the page
    await store.console_closed("dee", "dee-1", T0 + 1)
    assert await store.expire_presence(T0 + 10, T0 + 40) == ["ann", "bob", "cid"]
    dee = await store.get_agent("dee")
    assert dee is not None
    assert (dee.presence, dee.presence_since, dee.disconnected_at) == (Presence.OFFLINE, T0 + 1, None)
