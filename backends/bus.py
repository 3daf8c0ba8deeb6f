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
from backends.exceptions import REDIS_UNREACHABLE
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
    """Redis pub/sub with one connection per process; a reader task fans messages out to local subscribers.

    While Redis cannot be reached, events still reach this process's own subscribers (a customer's socket on the
    replica that took their message hears the bot's answer), never other replicas'; a subscription made meanwhile
    listens locally and joins Redis once it is back. The log says when the bus degrades and when it recovers."""

    def __init__(self, client: aioredis.Redis, prefix: str = BUS_CHANNEL_PREFIX) -> None:
        self._client = client
        self._prefix = prefix
        self._fanout = _LocalFanout()
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        # Set by close(): the reader stops even if its cancel is lost, and nothing touches Redis afterwards.
        self._closing = False
        # Topics with local subscribers whose SUBSCRIBE failed (Redis away): the reader subscribes them once it can.
        self._unjoined: set[str] = set()
        self._degraded = False

    async def publish(self, topic: str, event: Event) -> None:
        try:
            await self._client.publish(self._prefix + topic, json.dumps(event, ensure_ascii=False))
        except REDIS_UNREACHABLE:
            self._degrade("publish")
            self._fanout.deliver(topic, event)
            return
        self._recover()

    def _degrade(self, what: str) -> None:
        if not self._degraded:
            self._degraded = True
            log.warning("event bus: Redis is unreachable (%s); events reach this process's listeners only", what)

    def _recover(self) -> None:
        if self._degraded:
            self._degraded = False
            log.warning("event bus: Redis is back; events reach every replica again")

    @contextlib.asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[Subscription]:
        sub = Subscription(topics)
        async with self._lock:
            if self._closing:
                raise RuntimeError("the event bus is closed")
            fresh = self._fanout.add(sub)
            if fresh:
                try:
                    await self._pubsub.subscribe(*(self._prefix + t for t in fresh))
                except REDIS_UNREACHABLE:
                    self._degrade("subscribe")
                    self._unjoined.update(fresh)
            if self._reader is None and not self._closing:
                self._reader = asyncio.create_task(self._read(), name="redis-event-bus")
        try:
            yield sub
        finally:
            async with self._lock:
                gone = self._fanout.remove(sub)
                joined = [t for t in gone if t not in self._unjoined]
                self._unjoined.difference_update(gone)
                if joined and not self._closing:  # after close() an UNSUBSCRIBE would open a fresh connection
                    try:
                        await self._pubsub.unsubscribe(*(self._prefix + t for t in joined))
                    except REDIS_UNREACHABLE:
                        # A reconnect may subscribe them again; their events then find no listener here.
                        self._degrade("unsubscribe")

    async def _join_waiting(self) -> None:
        """Subscribes the topics whose SUBSCRIBE failed while Redis was away; they stay waiting if it still is."""
        async with self._lock:
            waiting = sorted(self._unjoined)
            if not waiting or self._closing:
                return
            await self._pubsub.subscribe(*(self._prefix + t for t in waiting))
            self._unjoined.difference_update(waiting)

    async def _read(self) -> None:
        while not self._closing:
            try:
                if self._unjoined:
                    await self._join_waiting()
                if not self._pubsub.subscribed:
                    # Nothing to read until a subscription is joined; get_message would refuse (no connection yet).
                    await asyncio.sleep(0.5)
                    continue
                message = await self._pubsub.get_message(timeout=1.0)
                self._recover()
            except asyncio.CancelledError:
                raise
            except REDIS_UNREACHABLE:
                self._degrade("read")
                await asyncio.sleep(0.5)
                continue
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
