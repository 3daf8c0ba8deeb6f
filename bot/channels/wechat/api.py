"""The WeChat server API the connector uses: the account's access token, customer-service (CS) messages and a
customer's UnionID.

Owns: one access token per account (shared by replicas through an `AccessTokenStore`, fetched by one caller at a
time, refreshed early and after WeChat rejects it), CS text sends, template message sends (the way to reach a
customer outside the CS window), the user info call (for the UnionID), errcode → typed exception mapping, and
the 48-hour service-window arithmetic.
Must never: fetch a token per request, log or raise anything containing the access token or AppSecret (both
travel in query strings), or retry a send more than once.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import aiohttp
from redis.asyncio import Redis

from bot.channels.wechat.constants import (
    ACCESS_TOKEN_KEY,
    ACCESS_TOKEN_LOCK_KEY,
    ACCESS_TOKEN_LOCK_POLL_S,
    ACCESS_TOKEN_LOCK_TTL_S,
    ACCESS_TOKEN_LOCK_WAIT_S,
    ACCESS_TOKEN_MIN_TTL_S,
    ACCESS_TOKEN_REFRESH_MARGIN_S,
    API_TIMEOUT_S,
    ERRCODE_OK,
    ERRCODE_OUTSIDE_WINDOW,
    ERRCODE_QUOTA,
    ERRCODES_STALE_TOKEN,
    SERVICE_WINDOW_S,
)
from bot.channels.wechat.exceptions import (
    AccessTokenError,
    APITransportError,
    OutsideServiceWindow,
    QuotaExceeded,
    TokenStoreError,
    WeChatAPIError,
    WeChatError,
)
from bot.channels.wechat.settings import WeChatSettings

CS_SEND_PATH = "/cgi-bin/message/custom/send"
TEMPLATE_SEND_PATH = "/cgi-bin/message/template/send"
USER_INFO_PATH = "/cgi-bin/user/info"
TOKEN_PATH = "/cgi-bin/token"  # noqa: S105 - a URL path, not a secret


def service_window_remaining_s(last_inbound_at: float, now: float) -> float:
    """Seconds left in which the CS API may message a customer whose last message arrived at `last_inbound_at`."""
    return max(0.0, SERVICE_WINDOW_S - (now - last_inbound_at))


class AccessTokenStore(Protocol):
    """Where the account's current access token lives, and the lock that lets one caller refresh it."""

    async def get(self) -> str | None:
        """The current token, or None when there is none or it is due for refresh."""
        ...

    async def put(self, token: str, ttl_s: float) -> None: ...

    async def discard(self, token: str) -> None:
        """Forget `token`, but only if it is still the current one (a newer token must survive a late discard)."""
        ...

    def refresh_lock(self) -> AbstractAsyncContextManager[None]: ...


class MemoryAccessTokenStore:
    """One process's token; for tests and single-replica development."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str | None:
        if self._token is not None and self._clock() < self._expires_at:
            return self._token
        return None

    async def put(self, token: str, ttl_s: float) -> None:
        self._token, self._expires_at = token, self._clock() + ttl_s

    async def discard(self, token: str) -> None:
        if self._token == token:
            self._token = None

    def refresh_lock(self) -> AbstractAsyncContextManager[None]:
        return self._lock


# Compare-and-delete: drop a key only if it still holds the value the caller saw (or owns).
_DELETE_IF_EQUAL = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class RedisAccessTokenStore:
    """The token shared by every replica, with a Redis lock (SET NX PX) so one replica in the fleet fetches."""

    def __init__(self, redis: Redis, app_id: str) -> None:
        self._redis = redis
        self._key = ACCESS_TOKEN_KEY.format(app_id=app_id)
        self._lock_key = ACCESS_TOKEN_LOCK_KEY.format(app_id=app_id)
        # Callers in this process queue here first, so only one of them polls Redis for the fleet lock.
        self._local_lock = asyncio.Lock()

    async def get(self) -> str | None:
        value = await self._redis.get(self._key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def put(self, token: str, ttl_s: float) -> None:
        await self._redis.set(self._key, token, px=max(1, int(ttl_s * 1000)))

    async def discard(self, token: str) -> None:
        await self._redis.eval(_DELETE_IF_EQUAL, 1, self._key, token)

    @asynccontextmanager
    async def _fleet_lock(self) -> AsyncIterator[None]:
        owner = secrets.token_hex(16)
        ttl_ms = int(ACCESS_TOKEN_LOCK_TTL_S * 1000)
        deadline = time.monotonic() + ACCESS_TOKEN_LOCK_WAIT_S
        async with self._local_lock:
            while not await self._redis.set(self._lock_key, owner, nx=True, px=ttl_ms):
                if time.monotonic() > deadline:
                    raise AccessTokenError(-1, "timed out waiting for another replica's token refresh")
                await asyncio.sleep(ACCESS_TOKEN_LOCK_POLL_S)
            try:
                yield
            finally:
                await self._redis.eval(_DELETE_IF_EQUAL, 1, self._lock_key, owner)

    def refresh_lock(self) -> AbstractAsyncContextManager[None]:
        return self._fleet_lock()


class AccessTokenHolder:
    """Hands out the account's access token, fetching a new one only when none is current."""

    def __init__(self, session: aiohttp.ClientSession, settings: WeChatSettings, store: AccessTokenStore) -> None:
        self._session = session
        self._settings = settings
        self._store = store

    async def token(self) -> str:
        try:
            return await self._current_or_fetched()
        except WeChatError:
            raise
        except Exception as exc:
            raise TokenStoreError(f"access token store failed: {type(exc).__name__}") from exc

    async def _current_or_fetched(self) -> str:
        token = await self._store.get()
        if token is not None:
            return token
        async with self._store.refresh_lock():
            # Whoever held the lock before us has probably just stored a fresh token.
            token = await self._store.get()
            if token is not None:
                return token
            token, expires_in_s = await self._fetch()
            ttl_s = max(ACCESS_TOKEN_MIN_TTL_S, expires_in_s - ACCESS_TOKEN_REFRESH_MARGIN_S)
            await self._store.put(token, ttl_s)
            return token

    async def refresh_after_rejection(self, stale_token: str) -> str:
        """A token WeChat rejected (40001/42001/40014): drop it unless already replaced, then get the current one."""
        try:
            await self._store.discard(stale_token)
        except Exception as exc:
            raise TokenStoreError(f"access token store failed: {type(exc).__name__}") from exc
        return await self.token()

    async def _fetch(self) -> tuple[str, int]:
        params = {
            "grant_type": "client_credential",
            "appid": self._settings.app_id,
            "secret": self._settings.app_secret,
        }
        data = await _request_json(self._session, "GET", self._settings.api_base_url + TOKEN_PATH, params=params)
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise AccessTokenError(int(data.get("errcode", -1)), str(data.get("errmsg", "no access_token in reply")))
        return token, int(data.get("expires_in", 7200))


class CustomerServiceClient:
    """Sends CS messages for one account. A rejected token is refreshed and the send retried once."""

    def __init__(self, session: aiohttp.ClientSession, settings: WeChatSettings, tokens: AccessTokenHolder) -> None:
        self._session = session
        self._settings = settings
        self._tokens = tokens

    async def send_text(self, openid: str, content: str) -> None:
        await self._call(CS_SEND_PATH, {"touser": openid, "msgtype": "text", "text": {"content": content}})

    async def send_template(self, openid: str, template_id: str, data: Mapping[str, str], url: str = "") -> None:
        """A template message (模板消息): allowed outside the 48-hour window. `data` maps the template's keys
        (`first`, `keyword1`, …) to their values."""
        payload: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
        }
        if url:
            payload["url"] = url
        await self._call(TEMPLATE_SEND_PATH, payload)

    async def union_id(self, openid: str) -> str | None:
        """The customer's UnionID, or None when WeChat gives none (the account is not bound to an Open Platform, or
        the customer does not follow it). Raises WeChatError when the call fails."""
        data = await self._call(USER_INFO_PATH, None, {"openid": openid, "lang": "zh_CN"})
        union = data.get("unionid")
        return union if isinstance(union, str) and union else None

    async def _call(
        self, path: str, payload: dict[str, Any] | None, query: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """POST `payload` as JSON, or GET with `query` when there is no payload; a rejected token is refreshed and
        the call retried once."""
        # WeChat shows \uXXXX escapes literally in some clients, so Chinese text goes out as raw UTF-8.
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8") if payload is not None else None
        url = self._settings.api_base_url + path
        token = await self._tokens.token()
        data = await self._request(url, token, body, query)
        errcode = int(data.get("errcode", ERRCODE_OK))
        if errcode in ERRCODES_STALE_TOKEN:
            token = await self._tokens.refresh_after_rejection(token)
            data = await self._request(url, token, body, query)
            errcode = int(data.get("errcode", ERRCODE_OK))
        if errcode == ERRCODE_OK:
            return data
        errmsg = str(data.get("errmsg", ""))
        if errcode == ERRCODE_OUTSIDE_WINDOW:
            raise OutsideServiceWindow(errcode, errmsg)
        if errcode == ERRCODE_QUOTA:
            raise QuotaExceeded(errcode, errmsg)
        raise WeChatAPIError(errcode, errmsg)

    async def _request(self, url: str, token: str, body: bytes | None, query: dict[str, str] | None) -> dict[str, Any]:
        if body is None:
            return await _request_json(self._session, "GET", url, params={**(query or {}), "access_token": token})
        return await _request_json(
            self._session,
            "POST",
            url,
            params={"access_token": token},
            data=body,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )


async def _request_json(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    params: dict[str, str],
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One API round trip. Errors name the path only: the query string carries the token or the AppSecret."""
    path = url.split("?", 1)[0]
    try:
        async with session.request(
            method, url, params=params, data=data, headers=headers, timeout=aiohttp.ClientTimeout(total=API_TIMEOUT_S)
        ) as response:
            raw = await response.read()
            status = response.status
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise APITransportError(f"{method} {path} failed: {type(exc).__name__}") from None
    if status >= 400:
        raise APITransportError(f"{method} {path} answered HTTP {status}")
    try:
        decoded = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise APITransportError(f"{method} {path} answered something that is not JSON") from None
    if not isinstance(decoded, dict):
        raise APITransportError(f"{method} {path} answered JSON that is not an object")
    return decoded
