"""Fixtures for the console and handoff-bridge tests: the real app in-process over [memory, redis] (Redis database
6, flushed around each test), a scripted Rasa, staff sessions and customers talking through the chat API."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.settings import Settings
from handoff.settings import HandoffConfig
from kb.settings import KBConfig
from server.app import create_app
from staff.auth import Role
from staff.keys import STAFF
from tests.conftest import REDIS_URL, flushed_redis, scripted_rasa

CONSOLE_REDIS_DB = 6
PASSWORD = "correct horse battery"
EVENT_TIMEOUT_S = 5.0


async def scripted_rasa_turn(request: web.Request) -> web.Response:
    """Rasa's REST channel as the handoff flow needs it: a request for a person hands off, anything else echoes."""
    body = await request.json()
    message, lang = body["message"], body.get("metadata", {}).get("lang", "en")
    if "人工" in message or "human" in message.lower():
        text = "正在为您转接人工客服，请稍候。" if lang == "zh" else "I'm connecting you with a colleague."
        handoff = {
            "reason": "customer_request",
            "scores": {"intent_confidence": 0.97},
            "category": "",
            "priority": "normal",
            "fields": {"order_number": "1234567890"},
            "details": "the customer asked for a person",
            "language": lang,
        }
        kb = {"query": message, "language": lang, "decision": "not_found", "confidence": 0.12, "candidates": []}
        return web.json_response([{"custom": {"kb": kb}}, {"text": text}, {"custom": {"handoff": handoff}}])
    return web.json_response([{"text": f"echo: {message}"}])


@pytest.fixture
async def rasa_url() -> AsyncIterator[str]:
    async with scripted_rasa(scripted_rasa_turn) as url:
        yield url


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """The Redis URL for the handoff store and bus, or "" for the in-memory default."""
    if request.param == "memory":
        yield ""
        return
    client = await flushed_redis(CONSOLE_REDIS_DB)
    try:
        yield f"{REDIS_URL}/{CONSOLE_REDIS_DB}"
    finally:
        await client.flushdb()
        await client.aclose()


def console_settings(tmp_path: Path, rasa_url: str, redis_url: str, **handoff: Any) -> Settings:
    """`handoff`: `HandoffConfig` fields (`auto_assign=False`, `abandon_after_s=1`)."""
    return Settings(
        var_dir=tmp_path,
        rasa_url=rasa_url,
        redis_url=redis_url,
        rasa_timeout_s=5.0,
        # No starter FAQ and no index build at start: these tests are about handoff, and encoding costs seconds.
        kb=KBConfig(seed_demo=False, preload=False),
        handoff=HandoffConfig(**{"sweep_interval_s": 0.2, **handoff}),
    )


@dataclass
class Running:
    app: web.Application
    server: TestServer
    url: str
    sessions: list[aiohttp.ClientSession] = field(default_factory=list)

    async def staff(self, username: str, *roles: Role, display_name: str = "") -> Staff:
        await self.app[STAFF].add(username, PASSWORD, roles or (Role.AGENT,), display_name or username.title())
        # unsafe=True: the jar must accept the session cookie from an IP-address host (127.0.0.1).
        session = aiohttp.ClientSession(base_url=self.url, cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.sessions.append(session)
        async with session.post("/login", data={"username": username, "password": PASSWORD}, allow_redirects=False):
            pass
        return Staff(username, session, self.url)

    async def customer(self, language: str = "zh") -> ChatCustomer:
        session = aiohttp.ClientSession(base_url=self.url)
        self.sessions.append(session)
        async with session.post("/api/v1/conversations", json={"language": language}) as response:
            assert response.status == 201
            data = await response.json()
        return ChatCustomer(session, data["conversation_id"], data["customer_token"])


@dataclass
class Staff:
    username: str
    session: aiohttp.ClientSession
    url: str

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.session.request(method, f"/api/v1/console{path}", json=body) as response:
            return response.status, await response.json()

    def socket(self) -> Any:
        return self.session.ws_connect("/api/v1/console/ws")


@dataclass
class ChatCustomer:
    session: aiohttp.ClientSession
    conversation_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def say(self, text: str, payload: str | None = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"text": text} | ({"payload": payload} if payload else {})
        path = f"/api/v1/conversations/{self.conversation_id}/messages"
        async with self.session.post(path, json=body, headers=self.headers) as response:
            assert response.status == 200, await response.text()
            messages: list[dict[str, Any]] = (await response.json())["messages"]
            return messages

    async def history(self) -> list[dict[str, Any]]:
        path = f"/api/v1/conversations/{self.conversation_id}/messages"
        async with self.session.get(path, headers=self.headers) as response:
            messages: list[dict[str, Any]] = (await response.json())["messages"]
            return messages

    async def wait_for(self, predicate: Any, timeout_s: float = EVENT_TIMEOUT_S) -> dict[str, Any]:
        """Polls the history until a message matches (the transcript is the system of record)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            for message in await self.history():
                if predicate(message):
                    return message
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no matching message in {await self.history()}")
            await asyncio.sleep(0.05)


async def next_frame(ws: aiohttp.ClientWebSocketResponse, predicate: Any, timeout_s: float = EVENT_TIMEOUT_S) -> Any:
    """The next JSON frame that matches, skipping others."""
    async with asyncio.timeout(timeout_s):
        while True:
            frame = json.loads(await ws.receive_str())
            if predicate(frame):
                return frame


def is_event(kind: str, topic_prefix: str = "") -> Any:
    def match(frame: Any) -> bool:
        return bool(
            frame.get("type") == "event"
            and frame["event"].get("type") == kind
            and str(frame.get("topic", "")).startswith(topic_prefix)
        )

    return match


@contextlib.asynccontextmanager
async def console_app(settings: Settings) -> AsyncIterator[Running]:
    """The whole front door for `settings` on loopback; closes the staff sessions the test opened."""
    app = create_app(settings)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    harness = Running(app, server, str(server.make_url("")).rstrip("/"))
    try:
        yield harness
    finally:
        for session in harness.sessions:
            await session.close()
        await server.close()


@pytest.fixture
async def running(tmp_path: Path, rasa_url: str, backend: str) -> AsyncIterator[Running]:
    async with console_app(console_settings(tmp_path, rasa_url, backend)) as harness:
        yield harness


@pytest.fixture
async def pull_mode(tmp_path: Path, rasa_url: str, backend: str) -> AsyncIterator[Running]:
    """The app with auto-assign off: agents claim or pull, so races between them can be staged."""
    async with console_app(console_settings(tmp_path, rasa_url, backend, auto_assign=False)) as harness:
        yield harness
