"""Publish/subscribe of small JSON events between the parts of one process, or many processes through Redis.

Used for what must reach whoever is listening right now: a reply to a customer's open WebSocket, a new case in
agents' consoles, an FAQ edit that every replica's index must apply. Nothing here is durable: the transcript and
the stores are the system of record, and a listener that reconnects re-reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis.asyncio as aioredis

from backends.constants import BUS_CHANNEL_PREFIX, SUBSCRIBER_QUEUE_MAX
from backends.tasks import cancel_and_wait

log = logging.getLogger(__name__)

Event = dict[str, Any]


@dataclass(eq=False)
class Subscription:
    """Events for some topics, in publish order, until closed. A slow reader drops events rather than block others."""

    topics: tuple[str, ...]
    queue: asyncio.Queue[tuple[str, Event]] = field(default_factory=lambda: asyncio.Queue(SUBSCRIBER_QUEUE_MAX))
    dropped: int = 0

    def offer(self, topic: str, event: Event) -> None:
        try:
            self.queue.put_nowait((topic, event))
        except asyncio.QueueFull:
            self.dropped += 1

    async def get(self) -> tuple[str, Event]:
        return await self.queue.get()

    def __aiter__(self) -> AsyncIterator[tuple[str, Event]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[tuple[str, Event]]:
        while True:
            yield await self.queue.get()


class EventBus(Protocol):
    async def publish(self, topic: str, event: Event) -> None: ...

    def subscribe(self, *topics: str) -> contextlib.AbstractAsyncContextManager[Subscription]: ...

    async def close(self) -> None: ...


class _LocalFanout:
    """Delivers to this process's subscribers; both backends share it."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}

    def add(self, sub: Subscription) -> list[str]:
        fresh = []
        for topic in sub.topics:
            if topic not in self._subscribers:
                self._subscribers[topic] = set()
                fresh.append(topic)
            self._subscribers[topic].add(sub)
        return fresh

    def remove(self, sub: Subscription) -> list[str]:
        gone = []
        for topic in sub.topics:
            subs = self._subscribers.get(topic)
            if subs is None:
                continue
            subs.discard(sub)
            if not subs:
                del self._subscribers[topic]
                gone.append(topic)
        return gone

    def deliver(self, topic: str, event: Event) -> None:
        for sub in tuple(self._subscribers.get(topic, ())):
            sub.offer(topic, event)


class MemoryEventBus:
    """In-process bus: the single-process default."""

    def __init__(self) -> None:
        self._fanout = _LocalFanout()

    async def publish(self, topic: str, event: Event) -> None:
        self._fanout.deliver(topic, event)

    @contextlib.asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[Subscription]:
        sub = Subscription(topics)
        self._fanout.add(sub)
        try:
            yield sub
        finally:
            self._fanout.remove(sub)

    async def close(self) -> None:
        return None


class RedisEventBus:
    """Redis pub/sub with one connection per process; a reader task fans messages out to local subscribers."""

    def __init__(self, client: aioredis.Redis, prefix: str = BUS_CHANNEL_PREFIX) -> None:
        self._client = client
        self._prefix = prefix
        self._fanout = _LocalFanout()
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        # Set by close(): the reader stops even if its cancel is lost, and nothing touches Redis afterwards.
        self._closing = False

    async def publish(self, topic: str, event: Event) -> None:
        await self._client.publish(self._prefix + topic, json.dumps(event, ensure_ascii=False))

    @contextlib.asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[Subscription]:
        sub = Subscription(topics)
        async with self._lock:
            if self._closing:
                raise RuntimeError("the event bus is closed")
            fresh = self._fanout.add(sub)
            if fresh:
                await self._pubsub.subscribe(*(self._prefix + t for t in fresh))
            if self._reader is None and not self._closing:
                self._reader = asyncio.create_task(self._read(), name="redis-event-bus")
        try:
            yield sub
        finally:
            async with self._lock:
                gone = self._fanout.remove(sub)
                if gone and not self._closing:  # after close() an UNSUBSCRIBE would open a fresh connection
                    await self._pubsub.unsubscribe(*(self._prefix + t for t in gone))

    async def _read(self) -> None:
        while not self._closing:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event bus read failed; retrying")
                await asyncio.sleep(0.5)
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"]
            topic = (channel.decode() if isinstance(channel, bytes) else channel)[len(self._prefix) :]
            try:
                event = json.loads(message["data"])
            except (TypeError, ValueError):
                log.warning("dropped a malformed bus event on %s", topic)
                continue
            self._fanout.deliver(topic, event)

    async def close(self) -> None:
        self._closing = True
        if self._reader is not None:
            await cancel_and_wait(self._reader)
            self._reader = None
        async with self._lock:  # not while a subscriber is halfway through SUBSCRIBE/UNSUBSCRIBE on this connection
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
