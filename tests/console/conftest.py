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

from bot.channels.wechat import EncodingMode, WeChatConfig
from bot.settings import Settings
from handoff.settings import HandoffConfig
from kb.settings import KBConfig
from server.app import create_app
from staff.auth import Role
from staff.keys import STAFF
from tests.conftest import REDIS_URL, redis_database, scripted_rasa, send_csrf_token, serving
from tests.wechat.wechat_fakes import AES_KEY, APP_ID, APP_SECRET, TOKEN, FakeWeChatAPI, WeChatSim, text_xml

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
    if message == "file a ticket":  # a ticket created by action_create_ticket, plus an event no page knows
        ticket = {
            "number": "FD-000001",
            "category": "product_fault",
            "priority": "high",
            "status": "new",
            "description": "the blender stopped mid-cycle and smells of burning " * 25,
            "priority_reasons": ["product_fault"],
        }
        bulky = {"blob": "x" * 1500}
        return web.json_response([{"custom": {"ticket": ticket}}, {"custom": {"made_up_event": bulky}}])
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
    async with redis_database(CONSOLE_REDIS_DB):
        yield f"{REDIS_URL}/{CONSOLE_REDIS_DB}"


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
        send_csrf_token(session)
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

    async def say(
        self, text: str, payload: str | None = None, client_message_id: str | None = None
    ) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"text": text} | ({"payload": payload} if payload else {})
        if client_message_id is not None:
            body["client_message_id"] = client_message_id
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


# ---- WeChat: the front door with a WeChat account whose API is a fake on loopback ----------------------------


@dataclass
class WeChatHarness:
    running: Running
    api: FakeWeChatAPI
    sim: WeChatSim

    async def push(self, content: str, msg_id: str) -> str:
        """Posts an encrypted text push to /wechat the way WeChat does; returns the raw HTTP reply body."""
        query, body = self.sim.encrypted_push(text_xml(content, msg_id=msg_id))
        session = self.running.sessions[0]
        async with session.post("/wechat", params=query, data=body) as response:
            assert response.status == 200
            return await response.text()

    async def online_agent(self, username: str = "ann") -> tuple[Staff, Any]:
        """An agent with the console socket open (the caller closes it), online and ready for cases."""
        agent = await self.running.staff(username)
        ws = await agent.socket()
        await next_frame(ws, lambda f: f["type"] == "ready")
        await ws.send_json({"type": "presence", "presence": "online"})
        return agent, ws


@pytest.fixture
async def fake_api() -> AsyncIterator[tuple[FakeWeChatAPI, str]]:
    fake = FakeWeChatAPI()
    async with serving(fake.app()) as url:
        yield fake, url


@contextlib.asynccontextmanager
async def wechat_app(
    tmp_path: Path,
    rasa_url: str,
    backend: str,
    fake_api: tuple[FakeWeChatAPI, str],
    idle_close_s: float = 86400.0,
    union_id: bool = False,
    template_id: str = "",
    **handoff: Any,
) -> AsyncIterator[WeChatHarness]:
    """`template_id`: the account's template message for news outside the 48-hour window ("": none)."""
    api, api_url = fake_api
    wechat_config = WeChatConfig(
        token=TOKEN,
        app_id=APP_ID,
        app_secret=APP_SECRET,
        encoding_aes_key=AES_KEY,
        encoding_mode=EncodingMode.SAFE,
        api_base_url=api_url,
        idle_close_s=idle_close_s,
        union_id=union_id,
        template_id=template_id,
    )
    settings = console_settings(tmp_path, rasa_url, backend, **handoff).model_copy(update={"wechat": wechat_config})
    async with console_app(settings) as running:
        running.sessions.append(aiohttp.ClientSession(base_url=running.url))  # WeChat's own connection
        yield WeChatHarness(running, api, WeChatSim())


@pytest.fixture
async def wechat(
    tmp_path: Path, rasa_url: str, backend: str, fake_api: tuple[FakeWeChatAPI, str]
) -> AsyncIterator[WeChatHarness]:
    async with wechat_app(tmp_path, rasa_url, backend, fake_api) as harness:
        yield harness
