"""The access-token holder and the customer-service client, against a fake WeChat API on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bot.channels.wechat.api import (
    AccessTokenHolder,
    AccessTokenStore,
    CustomerServiceClient,
    MemoryAccessTokenStore,
    RedisAccessTokenStore,
    service_window_remaining_s,
)
from bot.channels.wechat.constants import ACCESS_TOKEN_KEY, ACCESS_TOKEN_REFRESH_MARGIN_S, SERVICE_WINDOW_S
from bot.channels.wechat.exceptions import (
    AccessTokenError,
    APITransportError,
    OutsideServiceWindow,
    QuotaExceeded,
    TokenStoreError,
    WeChatAPIError,
)
from bot.channels.wechat.settings import WeChatSettings
from tests.wechat.wechat_fakes import (
    APP_ID,
    APP_SECRET,
    OPENID,
    REDIS_URL,
    TOKEN,
    WECHAT_REDIS_DB,
    FakeWeChatAPI,
)


@pytest.fixture(params=["memory", "redis"])
async def token_store(request: pytest.FixtureRequest) -> AsyncIterator[AccessTokenStore]:
    if request.param == "memory":
        yield MemoryAccessTokenStore()
        return
    client = aioredis.Redis.from_url(f"{REDIS_URL}/{WECHAT_REDIS_DB}")
    await client.flushdb()
    try:
        yield RedisAccessTokenStore(client, APP_ID)
    finally:
        await client.flushdb()
        await client.aclose()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def settings_for(base_url: str) -> WeChatSettings:
    return WeChatSettings(token=TOKEN, app_id=APP_ID, app_secret=APP_SECRET, api_base_url=base_url)


def client_for(
    session: aiohttp.ClientSession, base_url: str, store: AccessTokenStore
) -> tuple[CustomerServiceClient, AccessTokenHolder]:
    settings = settings_for(base_url)
    holder = AccessTokenHolder(session, settings, store)
    return CustomerServiceClient(session, settings, holder), holder


# The store contract: the same promises from memory and Redis.


async def test_store_returns_what_was_put_until_it_expires(token_store: AccessTokenStore) -> None:
    assert await token_store.get() is None
    await token_store.put("t1", 0.2)
    assert await token_store.get() == "t1"
    await asyncio.sleep(0.4)
    assert await token_store.get() is None


async def test_store_discard_only_drops_the_token_it_names(token_store: AccessTokenStore) -> None:
    await token_store.put("t2", 60)
    await token_store.discard("t1")
    assert await token_store.get() == "t2"
    await token_store.discard("t2")
    assert await token_store.get() is None


async def test_store_lock_admits_one_holder_at_a_time(token_store: AccessTokenStore) -> None:
    inside = 0
    most_inside = 0

    async def hold() -> None:
        nonlocal inside, most_inside
        async with token_store.refresh_lock():
            inside += 1
            most_inside = max(most_inside, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(hold() for _ in range(10)))
    assert most_inside == 1


# The holder and client.


async def test_concurrent_sends_share_one_token_fetch(
    wechat_api: tuple[FakeWeChatAPI, str], session: aiohttp.ClientSession, token_store: AccessTokenStore
) -> None:
    fake, base_url = wechat_api
    client, _ = client_for(session, base_url, token_store)
    await asyncio.gather(*(client.send_text(OPENID, f"hello {i}") for i in range(20)))
    assert fake.token_fetches == 1
    assert len(fake.sends) == 20


async def test_token_is_reused_across_sends_not_fetched_per_request(
    wechat_api: tuple[FakeWeChatAPI, str], session: aiohttp.ClientSession
) -> None:
    fake, base_url = wechat_api
    client, _ = client_for(session, base_url, MemoryAccessTokenStore())
    for i in range(5):
        await client.send_text(OPENID, str(i))
    assert fake.token_fetches == 1


async def test_token_rejected_with_40001_is_refetched_exactly_once_under_concurrency(
    wechat_api: tuple[FakeWeChatAPI, str], session: aiohttp.ClientSession, token_store: AccessTokenStore
) -> None:
    fake, base_url = wechat_api
    client, holder = client_for(session, base_url, token_store)
    stale = await holder.token()
    fake.reject_token(stale)
    await asyncio.gather(*(client.send_text(OPENID, f"m{i}") for i in range(10)))
    assert fake.token_fetches == 2
    assert len(fake.sends) == 10
    assert set(fake.send_tokens[10:]) == {fake.current_token}


@pytest.mark.parametrize("errcode", [42001, 40014])
async def test_expired_or_invalid_token_errcodes_also_refresh_and_retry(
    wechat_api: tuple[FakeWeChatAPI, str], session: aiohttp.ClientSession, errcode: int
) -> None:
    fake, base_url = wechat_api
    fake.stale_errcode = errcode
    client, holder = client_for(session, base_url, MemoryAccessTokenStore())
    fake.reject_token(await holder.token())
    await client.send_text(OPENID, "hi")
    assert (fake.token_fetches, len(fake.sends)) == (2, 1)


async def test_a_token_rejected_twice_is_retried_only_once(
    wechat_api: tuple[FakeWeChatAPI, str], session: aiohttp.ClientSession
) -> None:
    fake, base_url = wechat_api
    client, _ = client_for(session, base_url, MemoryAccessTokenStore())
    fake.send_errcodes = [40001, 40001]
    # Scripted errcodes apply to valid tokens, so the refreshed token is rejected too.
    with pytest.raises(WeChatAPIError) as caught:
        await client.send_text(OPENID, "hi")
    assert caught.value.errcode == 40001
    assert len(fake.send_tokens) == 2


async def test_two_replicas_sharing_redis_fetch_one_token(
    wechat_api: tuple[FakeWeChatAPI, str], session: aiohttp.ClientSession, redis_client: aioredis.Redis
) -> None:
    fake, base_url = wechat_api
    replica_a, _ = client_for(session, base_url, RedisAccessTokenStore(redis_client, APP_ID))
    replica_b, _ = client_for(session, base_url, RedisAccessTokenStore(redis_client, APP_ID))
    await asyncio.gather(*(r.send_text(OPENID, "x") for r in [replica_a, replica_b] * 5))
    assert fake.token_fetches == 1


async def test_token_is_stored_with_a_ttl_shorter_than_expires_in(
    wechat_api: tuple[FakeWeChatAPI, str], session: aiohttp.ClientSession, redis_client: aioredis.Redis
) -> None:
    fake, base_url = wechat_api
    _, holder = client_for(session, base_url, RedisAccessTokenStore(redis_client, APP_ID))
    await holder.token()
    ttl_ms = await redis_client.pttl(ACCESS_TOKEN_KEY.format(app_id=APP_ID))
    assert 0 < ttl_ms <= (fake.expires_in_s - ACCESS_TOKEN_REFRESH_MARGIN_S) * 1000


async def test_outside_the_48_hour_window_raises_outside_service_window(
    wechat_api: tuple[FakeWeChatAPI, str], session: aiohttp.ClientSession
) -> None:
    fake, base_url = wechat_api
    client, _ = client_for(session, base_url, MemoryAccessTokenStore())
    fake.send_errcodes = [45015]
    with pytest.raises(OutsideServiceWindow):
        await client.send_text(OPENID, "too late")


async def test_quota_errcode_raises_quota_exceeded(
    wechat_api: tuple[FakeWeChatAPI, str], session: aiohttp.ClientSession
) -> None:
    fake, base_url = wechat_api
    client, _ = client_for(session, base_url, MemoryAccessTokenStore())
    fake.send_errcodes = [45047]
    with pytest.raises(QuotaExceeded):
        await client.send_text(OPENID, "one too many")


async def test_other_errcodes_raise_a_plain_api_error_without_the_token(
    wechat_api: tuple[FakeWeChatAPI, str], session: aiohttp.ClientSession
) -> None:
    fake, base_url = wechat_api
    client, _ = client_for(session, base_url, MemoryAccessTokenStore())
    fake.send_errcodes = [40003]
    with pytest.raises(WeChatAPIError) as caught:
        await client.send_text(OPENID, "x")
    assert type(caught.value) is WeChatAPIError and caught.value.errcode == 40003
    assert fake.current_token not in str(caught.value)


async def test_token_fetch_failure_raises_access_token_error_without_the_secret(
    wechat_api: tuple[FakeWeChatAPI, str], session: aiohttp.ClientSession
) -> None:
    fake, base_url = wechat_api
    fake.token_errcode = 40125
    client, _ = client_for(session, base_url, MemoryAccessTokenStore())
    with pytest.raises(AccessTokenError) as caught:
        await client.send_text(OPENID, "x")
    assert APP_SECRET not in str(caught.value)


async def test_an_unreachable_api_raises_a_transport_error_without_the_secret(session: aiohttp.ClientSession) -> None:
    client, _ = client_for(session, "http://127.0.0.1:9", MemoryAccessTokenStore())
    with pytest.raises(APITransportError) as caught:
        await client.send_text(OPENID, "x")
    assert APP_SECRET not in str(caught.value) and caught.value.__cause__ is None


async def test_chinese_text_is_sent_as_utf8_not_escaped(
    wechat_api: tuple[FakeWeChatAPI, str], session: aiohttp.ClientSession
) -> None:
    fake, base_url = wechat_api
    client, _ = client_for(session, base_url, MemoryAccessTokenStore())
    await client.send_text(OPENID, "您好")
    assert "您好".encode() in fake.raw_bodies[0]
    assert fake.sends == [{"touser": OPENID, "msgtype": "text", "text": {"content": "您好"}}]


def test_service_window_counts_down_from_the_last_inbound_message() -> None:
    assert service_window_remaining_s(1000.0, 1000.0) == SERVICE_WINDOW_S
    assert service_window_remaining_s(1000.0, 1000.0 + 3600) == SERVICE_WINDOW_S - 3600
    assert service_window_remaining_s(1000.0, 1000.0 + SERVICE_WINDOW_S + 1) == 0.0


async def test_a_dead_token_store_raises_a_typed_error(
    wechat_api: tuple[FakeWeChatAPI, str], session: aiohttp.ClientSession
) -> None:
    dead = aioredis.Redis(host="127.0.0.1", port=9, retry=Retry(NoBackoff(), 0))
    client, _ = client_for(session, wechat_api[1], RedisAccessTokenStore(dead, APP_ID))
    with pytest.raises(TokenStoreError):
        await client.send_text(OPENID, "x")
    await dead.aclose()
