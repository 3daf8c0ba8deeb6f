"""Claims on inbound WeChat messages so a retried push is processed once.

Owns: the `MessageDeduplicator` seam and its memory and Redis implementations (SET NX with a TTL).
Must never: remember message content, or block; a claim is one atomic round trip.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis

from bot.channels.wechat.constants import DEDUP_KEY, DEDUP_TTL_MS


class MessageDeduplicator(Protocol):
    """`claim` returns True for the first caller with a key within the TTL, False for every later one."""

    async def claim(self, message_key: str) -> bool: ...


class MemoryDeduplicator:
    """One process's claims; for tests and single-replica development."""

    def __init__(self, app_id: str, ttl_ms: int = DEDUP_TTL_MS, clock: Callable[[], float] = time.monotonic) -> None:
        self._app_id = app_id
        self._ttl_s = ttl_ms / 1000
        self._clock = clock
        self._expiry_by_key: dict[str, float] = {}

    async def claim(self, message_key: str) -> bool:
        now = self._clock()
        # One TTL for every key, so insertion order is expiry order: drop expired keys from the front.
        while self._expiry_by_key:
            oldest, expiry = next(iter(self._expiry_by_key.items()))
            if expiry > now:
                break
            del self._expiry_by_key[oldest]
        key = DEDUP_KEY.format(app_id=self._app_id, message_key=message_key)
        if key in self._expiry_by_key:
            return False
        self._expiry_by_key[key] = now + self._ttl_s
        return True


class RedisDeduplicator:
    """Claims shared by every replica: SET NX PX, so exactly one replica wins a key."""

    def __init__(self, redis: Redis, app_id: str, ttl_ms: int = DEDUP_TTL_MS) -> None:
        self._redis = redis
        self._app_id = app_id
        self._ttl_ms = ttl_ms

    async def claim(self, message_key: str) -> bool:
        key = DEDUP_KEY.format(app_id=self._app_id, message_key=message_key)
        return bool(await self._redis.set(key, b"1", nx=True, px=self._ttl_ms))
