"""Fixtures shared by every test area: real SQLite and PostgreSQL databases, real Redis.

PostgreSQL tests get a fresh schema per test, dropped afterwards; Redis tests use the database number of their
area (see each area's conftest) and flush it around each test.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser

from backends.sql import Database, open_database
from bot.settings import Settings
from kb.settings import KBConfig
from migrations import upgrade_database
from server.app import Program, create_app
from staff.auth import CSRF_COOKIE, CSRF_HEADER
from tests.widget.browser import chromium

POSTGRES_URL = os.environ.get("FD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("FD_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def send_csrf_token(session: aiohttp.ClientSession) -> None:
    """After a staff login through `session`: its later requests carry the session's CSRF token (the `fd_csrf`
    cookie's value in `X-CSRF-Token`), as the staff pages' fdApi does."""
    token = next((cookie.value for cookie in session.cookie_jar if cookie.key == CSRF_COOKIE), "")
    assert token, "no fd_csrf cookie: log in first"
    session.headers[CSRF_HEADER] = token


async def open_test_database(kind: str, tmp_path: Path, *, upgrade: bool = True) -> tuple[Database, str | None]:
    """A fresh SQLite file or PostgreSQL schema, at the newest schema revision unless `upgrade` is False."""
    schema: str | None = None
    if kind == "sqlite":
        db = await open_database(f"sqlite:///{tmp_path / 'test.db'}")
    else:
        schema = f"fd_test_{secrets.token_hex(4)}"
        db = await open_database(POSTGRES_URL, schema=schema)
    if upgrade:
        await upgrade_database(db)
    return db, schema


async def drop_schema(schema: str) -> None:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """The same store tests run against both SQL backends."""
    db, schema = await open_test_database(request.param, tmp_path)
    try:
        yield db
    finally:
        await db.close()
        if schema:
            await drop_schema(schema)


async def flushed_redis(db_number: int) -> aioredis.Redis:
    client = aioredis.Redis.from_url(f"{REDIS_URL}/{db_number}")
    await client.flushdb()
    return client


@asynccontextmanager
async def redis_database(db_number: int) -> AsyncIterator[aioredis.Redis]:
    """A client on Redis database `db_number`, emptied before the test and again after it, then closed."""
    client = await flushed_redis(db_number)
    try:
        yield client
    finally:
        await client.flushdb()
        await client.aclose()


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serves `app` on a free loopback port; yields its base URL."""
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@asynccontextmanager
async def scripted_rasa(turn: Callable[[web.Request], Awaitable[web.Response]]) -> AsyncIterator[str]:
    """A stand-in for Rasa's REST channel on loopback, answering with `turn` (and `/status`, as a healthy server
    would); yields its base URL."""

    async def status(request: web.Request) -> web.Response:
        return web.json_response({"model_file": "scripted.tar.gz"})

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", turn)
    app.router.add_get("/status", status)
    async with serving(app) as url:
        yield url


async def echo_turn(request: web.Request) -> web.Response:
    """Rasa's REST channel answering every message with "echo: <message>"."""
    return web.json_response([{"text": f"echo: {(await request.json())['message']}"}])


@asynccontextmanager
async def customer_program_answering(
    tmp_path: Path, turn: Callable[[web.Request], Awaitable[web.Response]], **fields: Any
) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    """A client of the customers' program (no FAQ seeded or preloaded, `fields` as further settings), `turn`
    answering for Rasa's REST channel."""
    async with scripted_rasa(turn) as rasa_url:
        settings = Settings(var_dir=tmp_path, rasa_url=rasa_url, kb=KBConfig(seed_demo=False, preload=False), **fields)
        async with TestClient(TestServer(create_app(settings, [Program.CUSTOMERS]))) as client:
            yield client


@asynccontextmanager
async def echoing_customer_program(tmp_path: Path) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    """A client of the customers' program (no FAQ seeded or preloaded), Rasa echoing every message (`echo_turn`)."""
    async with customer_program_answering(tmp_path, echo_turn) as client:
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium through Playwright, for one test (tests/widget/browser.py: `chromium`)."""
    async with chromium() as launched:
        yield launched
