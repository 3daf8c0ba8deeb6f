"""Fixtures for the WeChat connector tests: Redis database 2 (flushed around each test) and the fake WeChat API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from tests.conftest import serving
from tests.wechat.wechat_fakes import REDIS_URL, WECHAT_REDIS_DB, FakeWeChatAPI


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(f"{REDIS_URL}/{WECHAT_REDIS_DB}")
    await client.flushdb()
    try:
        yield client
    finally:
        await client.flushdb()
        await client.aclose()


@pytest.fixture
async def wechat_api() -> AsyncIterator[tuple[FakeWeChatAPI, str]]:
    """The fake WeChat API on loopback, and its base URL."""
    fake = FakeWeChatAPI()
    async with serving(fake.app()) as url:
        yield fake, url
