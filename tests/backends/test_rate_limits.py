"""The rate limiter: one contract over [memory, redis], counts shared by two limiters on one Redis, and a Redis
outage that degrades to counting in-process instead of failing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from backends.rate_limits import RateLimiter, rate_limit
from tests.conftest import REDIS_URL, redis_database

RATE_LIMIT_REDIS_DB = 13
THREE_PER_HOUR = rate_limit("3/hour")


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    async with redis_database(RATE_LIMIT_REDIS_DB) as client:
        yield client


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        yield RateLimiter()
        return
    async with redis_database(RATE_LIMIT_REDIS_DB) as client:
        yield RateLimiter(client, f"{REDIS_URL}/{RATE_LIMIT_REDIS_DB}")


async def test_a_key_takes_its_limit_then_is_refused_with_a_wait(limiter: RateLimiter) -> None:
    assert [await limiter.hit(THREE_PER_HOUR, "login", "ann") for _ in range(4)] == [True, True, True, False]
    assert not await limiter.allows(THREE_PER_HOUR, "login", "ann")
    assert 3500 < await limiter.retry_after_s(THREE_PER_HOUR, "login", "ann") <= 3600


async def test_keys_count_apart_and_clearing_one_leaves_the_others(limiter: RateLimiter) -> None:
    for _ in range(3):
        await limiter.hit(THREE_PER_HOUR, "login", "ann")
        await limiter.hit(THREE_PER_HOUR, "login", "bob")
    assert await limiter.allows(THREE_PER_HOUR, "login", "eve")
    await limiter.clear(THREE_PER_HOUR, "login", "ann")
    assert await limiter.allows(THREE_PER_HOUR, "login", "ann")
    assert not await limiter.allows(THREE_PER_HOUR, "login", "bob")


async def test_replicas_on_one_redis_share_their_counts(redis_client: aioredis.Redis) -> None:
    url = f"{REDIS_URL}/{RATE_LIMIT_REDIS_DB}"
    first, second = RateLimiter(redis_client, url), RateLimiter(redis_client, url)
    for _ in range(3):
        assert await first.hit(THREE_PER_HOUR, "messages", "conv_1")
    assert not await second.hit(THREE_PER_HOUR, "messages", "conv_1")
    assert await redis_client.keys("fd:limits*")


async def test_while_redis_is_down_it_counts_in_process_instead_of_failing() -> None:
    unreachable = aioredis.Redis.from_url("redis://127.0.0.1:9/0")  # nothing listens on port 9
    try:
        limiter = RateLimiter(unreachable, "redis://127.0.0.1:9/0")
        assert [await limiter.hit(THREE_PER_HOUR, "login", "ann") for _ in range(4)] == [True, True, True, False]
        assert await limiter.retry_after_s(THREE_PER_HOUR, "login", "ann") > 0
    finally:
        await unreachable.aclose()


def test_a_limit_that_does_not_parse_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="parse"):
        rate_limit("lots")
