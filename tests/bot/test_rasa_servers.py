"""Several Rasa servers behind one front door: each conversation sticks to one server, chosen the same way by every
front door; a server that refuses connections hands its conversations to the next until it is back."""

from __future__ import annotations

import aiohttp

from bot.rasa_client import RasaClient
from bot.rasa_servers import RasaServers
from bot.stack import free_port
from tests.bot.held_rasa import WAIT_S, HeldRasa
from tests.conftest import scripted_rasa

SERVERS = ("http://rasa-a:5005", "http://rasa-b:5005", "http://rasa-c:5005")
SENDERS = [f"conv_{i:04d}" for i in range(300)]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_every_front_door_sends_a_conversation_to_the_same_server() -> None:
    homes = {sender: RasaServers(SERVERS).home_of(sender) for sender in SENDERS}
    shuffled = RasaServers(tuple(reversed(SERVERS)))
    assert all(shuffled.home_of(sender) == home for sender, home in homes.items())
    share = {url: sum(home == url for home in homes.values()) / len(SENDERS) for url in SERVERS}
    assert all(0.2 < fraction < 0.47 for fraction in share.values()), share


def test_removing_a_server_moves_only_its_own_conversations() -> None:
    three, two = RasaServers(SERVERS), RasaServers(SERVERS[:2])
    moved = [sender for sender in SENDERS if three.home_of(sender) != two.home_of(sender)]
    assert moved and all(three.home_of(sender) == SERVERS[2] for sender in moved)


def test_a_server_that_refused_is_tried_last_until_its_time_is_up() -> None:
    clock = Clock()
    servers = RasaServers(SERVERS, down_for_s=5, clock=clock)
    sender = next(s for s in SENDERS if servers.home_of(s) == SERVERS[0])
    usual = servers.order_for(sender)
    servers.mark_down(SERVERS[0])
    assert servers.order_for(sender) == [*usual[1:], SERVERS[0]]
    clock.now = 5.1
    assert servers.order_for(sender) == usual


async def test_turns_stick_to_their_server_and_both_servers_answer() -> None:
    first, second = HeldRasa("a ", holding=False), HeldRasa("b ", holding=False)
    async with (
        scripted_rasa(first.turn) as a,
        scripted_rasa(second.turn) as b,
        aiohttp.ClientSession() as http,
    ):
        client = RasaClient(http, [a, b], timeout_s=WAIT_S, max_turns=4)
        answered = {}
        for sender in SENDERS[:20]:
            for text in ("hello", "thanks"):
                (reply,) = await client.turn(sender, text, {})
                answered.setdefault(sender, set()).add(reply["text"].split()[0])
    assert all(len(servers) == 1 for servers in answered.values())
    assert {servers.pop() for servers in answered.values()} == {"a", "b"}


async def test_a_refusing_server_hands_its_conversations_to_the_next() -> None:
    live = HeldRasa("live ", holding=False)
    async with scripted_rasa(live.turn) as url, aiohttp.ClientSession() as http:
        dead = f"http://127.0.0.1:{free_port()}"
        client = RasaClient(http, [url, dead], timeout_s=WAIT_S, max_turns=4)
        orphan = next(sender for sender in SENDERS if client.server_for(sender) == dead)
        replies = [await client.turn(orphan, text, {}) for text in ("hello", "thanks")]
        health = await client.health()
    assert [r[0]["text"] for r in replies] == ["live echo: hello", "live echo: thanks"]
    assert client.server_for(orphan) == url
    assert health["ok"] and not health["servers"][dead]["ok"] and health["servers"][url]["ok"]
