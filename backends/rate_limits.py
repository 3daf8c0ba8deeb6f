"""Rate limits: how many hits a key may take in a moving window, counted where every replica sees them.

Owns `RateLimiter`, a thin layer over the `limits` library's moving-window strategy, on Redis when the deployment
shares one (the app's own connection pool: every replica counts the same hits) or in this process otherwise. While
Redis cannot be reached the limiter counts in this process instead (each replica then limits on its own) and says so
in the log: a Redis outage must neither lock everyone out nor turn into a 500. Must never know what it counts:
callers name the limit and the key.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from backends.constants import RATE_LIMIT_KEY_PREFIX

log = logging.getLogger(__name__)

T = TypeVar("T")


def rate_limit(text: str) -> RateLimitItem:
    """`"5/15 minutes"` (or `"5 per 15 minutes"`, `"30/minute"`) as a limit; raises ValueError for anything else."""
    return parse(text)


class RateLimiter:
    """Moving-window counters per (limit, key…): `hit` counts one, `allows` only looks."""

    def __init__(self, redis: aioredis.Redis | None = None, redis_url: str = "") -> None:
        """`redis`: the app's client (its connection pool is shared) and `redis_url` the URL it was made from;
        neither: counted in this process."""
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._shared: MovingWindowRateLimiter | None = None
        if redis is not None:
            storage = RedisStorage(
                "async+" + redis_url,
                implementation="redispy",
                # limits types its options as scalars, yet hands them to redis-py's client as they are.
                connection_pool=redis.connection_pool,  # type: ignore[arg-type]
                key_prefix=RATE_LIMIT_KEY_PREFIX,
                wrap_exceptions=True,
            )
            self._shared = MovingWindowRateLimiter(storage)

    async def _run(self, action: Callable[[MovingWindowRateLimiter], Awaitable[T]]) -> T:
        if self._shared is not None:
            try:
                return await action(self._shared)
            except StorageError:
                log.warning("rate limits: Redis is unreachable; counting in this process meanwhile", exc_info=True)
        return await action(self._local)

    async def hit(self, limit: RateLimitItem, *key: str) -> bool:
        """Counts one hit; False (and nothing counted) when the window is already full."""
        return await self._run(lambda limiter: limiter.hit(limit, *key))

    async def allows(self, limit: RateLimitItem, *key: str) -> bool:
        """Whether one more hit would fit, counting nothing."""
        return await self._run(lambda limiter: limiter.test(limit, *key))

    async def retry_after_s(self, limit: RateLimitItem, *key: str) -> int:
        """Whole seconds until one more hit fits (at least 1: asked only once the window is full)."""
        stats = await self._run(lambda limiter: limiter.get_window_stats(limit, *key))
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def clear(self, limit: RateLimitItem, *key: str) -> None:
        """Forgets every hit of this key."""
        await self._run(lambda limiter: limiter.clear(limit, *key))


__all__ = ["RateLimiter", "rate_limit"]
