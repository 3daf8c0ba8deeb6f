"""Live updates: every front-door process applies FAQ edits made in any other within moments.

Owns `LiveUpdates`, the listener task on the bus topic `kb` (and on `handoff`, to note clarify questions that ended in
a handoff). An event only says which entry changed; the process re-reads that entry from the store, so a lost or
repeated event does no harm, and a periodic version check repairs whatever the bus dropped. Must never change the
store, and never hold the event loop: applying an edit re-encodes in the service's worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from backends.bus import EventBus
from backends.tasks import cancel_and_wait
from kb.constants import HANDOFF_BUS_TOPIC, HANDOFF_QUEUED_EVENT, KB_BUS_TOPIC, KB_CHANGED_EVENT, KB_THRESHOLDS_EVENT
from kb.service import KnowledgeBaseService

log = logging.getLogger(__name__)


class LiveUpdates:
    def __init__(self, service: KnowledgeBaseService, bus: EventBus, interval_s: float | None = None) -> None:
        self.service = service
        self.bus = bus
        self.interval_s = service.settings.version_check_s if interval_s is None else interval_s
        self.subscribed = asyncio.Event()

    async def run(self) -> None:
        async with self.bus.subscribe(KB_BUS_TOPIC, HANDOFF_BUS_TOPIC) as subscription:
            self.subscribed.set()
            next_check = time.monotonic() + self.interval_s
            while True:
                try:
                    topic, event = await asyncio.wait_for(
                        subscription.get(), timeout=max(0.0, next_check - time.monotonic())
                    )
                except TimeoutError:
                    topic, event = "", {}
                if topic:
                    await self._handle(topic, event)
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + self.interval_s
                    await self._guarded(self.service.check_version())

    async def _handle(self, topic: str, event: Mapping[str, Any]) -> None:
        if topic == KB_BUS_TOPIC and event.get("type") in (KB_CHANGED_EVENT, KB_THRESHOLDS_EVENT):
            await self._guarded(self.service.apply_event(event))
        elif topic == HANDOFF_BUS_TOPIC and event.get("type") == HANDOFF_QUEUED_EVENT:
            conversation_id = event.get("conversation_id")
            if isinstance(conversation_id, str):
                await self._guarded(self.service.note_handoff(conversation_id))

    @staticmethod
    async def _guarded(work: Any) -> None:
        # One bad event (or a database hiccup) must not stop this process from hearing the next edit.
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("applying a live knowledge-base update failed")

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[LiveUpdates]:
        """Listen while the block runs; the subscription is in place when the block starts."""
        task = asyncio.create_task(self.run(), name="kb-live")
        waiter = asyncio.create_task(self.subscribed.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            waiter.cancel()
            task.result()  # the subscription failed: say why
        try:
            yield self
        finally:
            await cancel_and_wait(task)
