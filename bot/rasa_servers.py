"""Which of several Rasa servers answers a conversation, and how many turns each is given at once.

Every conversation sticks to one server, chosen by rendezvous hashing of its sender id over the servers' URLs: the
choice needs no shared state, so every front door picks the same server for a conversation, and when a server is
added or removed only the conversations it held move. A server that refused a connection is passed over (tried
last) for `down_for_s`, and its conversations go to the next server in their own order; Rasa's Redis lock store
(endpoints.yml `lock_store`) still keeps two servers from running one conversation's turns at once while they move.

Each server gets at most `max_turns` turns at once from this front door (`TurnSlots`); the turns beyond wait in
arrival order, so a busy evening queues customers fairly instead of overloading Rasa. This module never talks HTTP.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

# How long a server that refused a connection is tried last; after that it gets its conversations back.
DOWN_FOR_S = 5.0


def _score(url: str, sender: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{url}\n{sender}".encode(), digest_size=8).digest(), "big")


class RasaServers:
    """The Rasa servers (base URLs, without trailing slash) and which of them are down; `clock` is in seconds."""

    def __init__(
        self, urls: Sequence[str], down_for_s: float = DOWN_FOR_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not urls:
            raise ValueError("at least one Rasa server is needed")
        self.urls = tuple(dict.fromkeys(urls))
        self._down_for_s = down_for_s
        self._clock = clock
        self._down_until: dict[str, float] = {}

    def order_for(self, sender: str) -> list[str]:
        """The servers to try for `sender`'s turn, best first: its own server, then the next by the same hash; a
        server marked down moves to the end (still tried when every server is down)."""
        ranked = sorted(self.urls, key=lambda url: _score(url, sender), reverse=True)
        now = self._clock()
        return sorted(ranked, key=lambda url: self._down_until.get(url, 0.0) > now)

    def home_of(self, sender: str) -> str:
        """The server that answers `sender` now (the first of `order_for`)."""
        return self.order_for(sender)[0]

    def mark_down(self, url: str) -> None:
        self._down_until[url] = self._clock() + self._down_for_s

    def mark_up(self, url: str) -> None:
        self._down_until.pop(url, None)


class TurnSlots:
    """At most `per_server` turns in flight to each server; a turn beyond that waits, in arrival order (asyncio's
    Semaphore wakes its waiters first in, first out, and a newcomer never jumps a waiting turn)."""

    def __init__(self, urls: Sequence[str], per_server: int) -> None:
        if per_server < 1:
            raise ValueError("a Rasa server must be given at least one turn at a time")
        self._slots = {url: asyncio.Semaphore(per_server) for url in urls}
        self.waiting = 0  # turns waiting for a slot now, over all servers

    @asynccontextmanager
    async def hold(self, url: str) -> AsyncIterator[None]:
        """One of `url`'s slots, for the body; waits (counted in `waiting`) while they are all taken."""
        self.waiting += 1
        try:
            await self._slots[url].acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._slots[url].release()


__all__ = ["DOWN_FOR_S", "RasaServers", "TurnSlots"]
