"""The front door in process (a scripted stand-in answers for Rasa), so a test can drive handoff events itself;
Chromium and a host page embedding the widget for the browser tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser

from bot.settings import Settings
from bot.widget import create_host_app
from server.app import create_app
from tests.conftest import scripted_rasa, serving
from tests.socketio.scripted_rasa import scripted_rasa_turn
from tests.widget.browser import chromium


@asynccontextmanager
async def frontdoor_answering(
    tmp_path: Path, turn: Callable[[web.Request], Awaitable[web.Response]]
) -> AsyncIterator[TestServer]:
    """The front door in process, served on loopback, with `turn` answering for Rasa's REST channel."""
    async with scripted_rasa(turn) as rasa_url:
        server = TestServer(
            create_app(Settings(var_dir=tmp_path, rasa_url=rasa_url, rasa_timeout_s=5)), host="127.0.0.1"
        )
        await server.start_server()
        try:
            yield server
        finally:
            await server.close()


@pytest.fixture
async def frontdoor(tmp_path: Path) -> AsyncIterator[TestServer]:
    async with frontdoor_answering(tmp_path, scripted_rasa_turn) as server:
        yield server


@pytest.fixture
async def browser(frontdoor: TestServer) -> AsyncIterator[Browser]:
    # Needs the front door so that it closes first: open WebSockets would hold up the server's shutdown.
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def site(frontdoor: TestServer) -> AsyncIterator[str]:
    """A shop's page embedding the front door's widget; yields its URL."""
    async with serving(create_host_app(str(frontdoor.make_url("/widget.js")), {"title": "Acme help"})) as url:
        yield url
