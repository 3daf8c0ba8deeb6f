"""A stand-in for Rasa's REST channel that holds every turn until the test lets it go, and remembers what it saw:
which turns arrived in which order, and how many ran at once (in all, and of one conversation)."""

from __future__ import annotations

import asyncio
from collections import Counter

from aiohttp import web

# How long a test waits for something the front door must do at once (a generous bound, never a measurement).
WAIT_S = 10.0


class HeldRasa:
    """`turn` is the REST webhook; while `holding`, each turn waits for `release_next`. Replies "<name>echo: <text>"."""

    def __init__(self, name: str = "", *, holding: bool = True) -> None:
        self.name = name
        self.holding = holding
        self.arrived: list[tuple[str, str]] = []  # (sender, message), in arrival order
        self.most_at_once = 0
        self.most_at_once_per_sender = 0
        self._running: Counter[str] = Counter()
        self._held: list[asyncio.Event] = []
        self._changed = asyncio.Condition()

    async def turn(self, request: web.Request) -> web.Response:
        body = await request.json()
        sender, message = str(body["sender"]), str(body["message"])
        self._running[sender] += 1
        self.most_at_once = max(self.most_at_once, self._running.total())
        self.most_at_once_per_sender = max(self.most_at_once_per_sender, self._running[sender])
        gate = asyncio.Event()
        if self.holding:
            self._held.append(gate)
        else:
            gate.set()
        async with self._changed:
            self.arrived.append((sender, message))
            self._changed.notify_all()
        try:
            await gate.wait()
        finally:
            self._running[sender] -= 1
        return web.json_response([{"text": f"{self.name}echo: {message}"}])

    async def arrivals(self, count: int) -> None:
        """Returns once `count` turns have arrived in all."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.arrived) >= count), WAIT_S)

    def release_next(self) -> None:
        """Lets the earliest held turn answer."""
        self._held.pop(0).set()

    def release_all(self) -> None:
        self.holding = False
        while self._held:
            self.release_next()
