"""Which conversations have a customer's chat window open on this replica, and the one loop that tells handoff so.

A customer's live socket (the widget's WebSocket, a Socket.IO session) holds `OpenChats.opened` for its conversation
while it is open; every `interval_s` one loop marks all of them present in one batch (`customers_present`: one
round trip to the live state), so a thousand idle sockets cost one task and one call per interval, not a thousand
of each. An open chat window is a sign of life: a customer waiting in the queue with it open is not abandoned. This
module must never decide what presence means: handoff does.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

log = logging.getLogger(__name__)


class Presence(Protocol):
    """Where signs of life go (the pipeline, hence handoff's gate)."""

    async def customers_present(self, conversation_ids: Sequence[str]) -> None: ...


class OpenChats:
    """Conversations with a live customer socket here, counted (a customer may have two tabs open)."""

    def __init__(self, presence: Presence, interval_s: float) -> None:
        self._presence = presence
        self.interval_s = interval_s
        self._open: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._open)

    @asynccontextmanager
    async def opened(self, conversation_id: str) -> AsyncIterator[None]:
        """While the body runs, `conversation_id`'s chat window counts as open; it is marked present at once."""
        self._open[conversation_id] += 1
        try:
            await self._mark([conversation_id])
            yield
        finally:
            self._open[conversation_id] -= 1
            if self._open[conversation_id] <= 0:
                del self._open[conversation_id]

    async def run(self) -> None:
        """Marks every open conversation present each `interval_s`, until cancelled."""
        while True:
            await asyncio.sleep(self.interval_s)
            if self._open:
                await self._mark(list(self._open))

    async def _mark(self, conversation_ids: Sequence[str]) -> None:
        try:
            await self._presence.customers_present(conversation_ids)
        except Exception:
            # A lost sign of life costs nothing until the silence limit, and the next pass brings it.
            log.exception("marking %d open chats present failed", len(conversation_ids))


__all__ = ["OpenChats", "Presence"]
