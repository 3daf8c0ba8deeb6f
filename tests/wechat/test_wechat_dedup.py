"""One contract for every MessageDeduplicator: the first claim of a key wins until the TTL passes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.channels.wechat.constants import DEDUP_KEY
from bot.channels.wechat.dedup import MemoryDeduplicator, MessageDeduplicator, RedisDeduplicator
from tests.wechat.wechat_fakes import REDIS_URL, WECHAT_REDIS_DB

TTL_MS = 200


@pytest.fixture(params=["memory", "redis"])
async def deduplicator(request: pytest.FixtureRequest) -> AsyncIterator[MessageDeduplicator]:
    if request.param == "memory":
        yield MemoryDeduplicator("wx1", ttl_ms=TTL_MS)
        return
    client = aioredis.Redis.from_url(f"{REDIS_URL}/{WECHAT_REDIS_DB}")
    await client.flushdb()
    try:
        yield RedisDeduplicator(client, "wx1", ttl_ms=TTL_MS)
    finally:
        await client.flushdb()
        await client.aclose()


async def test_first_claim_wins_and_the_second_loses(deduplicator: MessageDeduplicator) -> None:
    assert await deduplicator.claim("msg:1") is True
    assert await deduplicator.claim("msg:1") is False


async def test_different_keys_do_not_collide(deduplicator: MessageDeduplicator) -> None:
    assert await deduplicator.claim("msg:1") is True
    assert await deduplicator.claim("msg:2") is True


async def test_fifty_concurrent_claims_have_one_winner(deduplicator: MessageDeduplicator) -> None:
    results = await asyncio.gather(*(deduplicator.claim("msg:race") for _ in range(50)))
    assert results.count(True) == 1


async def test_a_key_can_be_claimed_again_after_the_ttl(deduplicator: MessageDeduplicator) -> None:
    assert await deduplicator.claim("msg:1") is True
    await asyncio.sleep(TTL_MS / 1000 * 2)
    assert await deduplicator.claim("msg:1") is True


async def test_redis_claims_use_the_documented_key_with_a_ttl(redis_client: aioredis.Redis) -> None:
    await RedisDeduplicator(redis_client, "wx1", ttl_ms=60_000).claim("msg:9")
    key = DEDUP_KEY.format(app_id="wx1", message_key="msg:9")
    assert 0 < await redis_client.pttl(key) <= 60_000


async def test_two_replicas_sharing_redis_have_one_winner(redis_client: aioredis.Redis) -> None:
    a, b = RedisDeduplicator(redis_client, "wx1"), RedisDeduplicator(redis_client, "wx1")
    assert [await a.claim("msg:1"), await b.claim("msg:1")] == [True, False]
