"""Rate limits of the chat API: new conversations per client address and customer messages per conversation (HTTP
and the live-chat socket together); a spent limit is a 429 JSON error with `Retry-After`, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from backends.exceptions import InvalidSettings
from bot.settings import Settings
from kb.settings import KBConfig
from server.app import Program, create_app
from tests.conftest import scripted_rasa
from web.rate_limits import RateLimitConfig

Client = TestClient  # type: ignore[type-arg]
LIMITS = RateLimitConfig(conversations_per_address="3/minute", messages_per_conversation="2/minute", proxy_hops=1)


async def echo(request: web.Request) -> web.Response:
    return web.json_response([{"text": f"echo: {(await request.json())['message']}"}])


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    async with scripted_rasa(echo) as rasa_url:
        settings = Settings(
            var_dir=tmp_path, rasa_url=rasa_url, kb=KBConfig(seed_demo=False, preload=False), limits=LIMITS
        )
        async with TestClient(TestServer(create_app(settings, [Program.CUSTOMERS]))) as client:
            yield client


async def start(client: Client, address: str) -> Any:
    return await client.post("/api/v1/conversations", json={}, headers={"X-Forwarded-For": address})


async def test_an_address_may_start_so_many_conversations_then_gets_429(client: Client) -> None:
    for _ in range(3):
        assert (await start(client, "203.0.113.8")).status == 201
    refused = await start(client, "203.0.113.8")
    assert refused.status == 429 and 0 < int(refused.headers["Retry-After"]) <= 60
    assert (await refused.json())["error"]["code"] == "rate_limited"
    assert (await start(client, "203.0.113.9")).status == 201  # another address is not affected


async def test_a_conversation_may_send_so_many_messages_over_http_and_its_socket(client: Client) -> None:
    started = await (await start(client, "203.0.113.10")).json()
    path = f"/api/v1/conversations/{started['conversation_id']}/messages"
    auth = {"Authorization": f"Bearer {started['customer_token']}"}
    assert (await client.post(path, json={"text": "hi"}, headers=auth)).status == 200
    async with client.ws_connect(f"/api/v1/conversations/{started['conversation_id']}/ws") as ws:
        await ws.send_json({"type": "hello", "token": started["customer_token"]})
        assert (await ws.receive_json())["type"] == "ready"
        await ws.send_json({"type": "message", "text": "second"})
        await ws.send_json({"type": "message", "text": "third"})
        frame = await ws.receive_json()
        while frame.get("type") != "error":
            frame = await ws.receive_json()
        assert frame["error"]["code"] == "rate_limited"
    refused = await client.post(path, json={"text": "fourth"}, headers=auth)
    assert refused.status == 429 and "Retry-After" in refused.headers
    # Another conversation from the same address has its own count.
    other = await (await start(client, "203.0.113.10")).json()
    other_auth = {"Authorization": f"Bearer {other['customer_token']}"}
    other_path = f"/api/v1/conversations/{other['conversation_id']}/messages"
    assert (await client.post(other_path, json={"text": "hi"}, headers=other_auth)).status == 200


def test_a_limit_that_does_not_parse_names_its_variable() -> None:
    with pytest.raises(InvalidSettings, match="FD_LIMITS_MESSAGES_PER_CONVERSATION"):
        Settings.from_env({"FD_LIMITS_MESSAGES_PER_CONVERSATION": "lots"})
