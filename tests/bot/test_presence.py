"""Open chat windows: each socket counts its conversation as open while it lives, and one loop per replica reports
them all present in one batch, however many sockets are open."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from backends.tasks import cancel_and_wait
from bot.presence import OpenChats
from tests.bot.held_rasa import WAIT_S


class Reported:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.changed = asyncio.Condition()

    async def customers_present(self, conversation_ids: Sequence[str]) -> None:
        async with self.changed:
            self.batches.append(sorted(conversation_ids))
            self.changed.notify_all()

    async def batch(self, count: int) -> list[str]:
        """The `count`-th batch reported (1-based), once it has been."""
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: len(self.batches) >= count), WAIT_S)
        return self.batches[count - 1]


async def test_a_conversation_stays_open_while_any_of_its_sockets_is() -> None:
    reported = Reported()
    chats = OpenChats(reported, interval_s=30)
    async with chats.opened("c1"):
        async with chats.opened("c1"), chats.opened("c2"):
            assert len(chats) == 2
        assert len(chats) == 1
    assert len(chats) == 0
    assert reported.batches == [["c1"], ["c1"], ["c2"]]  # each opening is a sign of life at once


async def test_one_loop_reports_every_open_chat_in_one_batch() -> None:
    reported = Reported()
    chats = OpenChats(reported, interval_s=0.01)
    async with chats.opened("c1"), chats.opened("c2"), chats.opened("c3"):
        loop = asyncio.create_task(chats.run())
        try:
            assert await reported.batch(4) == ["c1", "c2", "c3"]
        finally:
            await cancel_and_wait(loop)
