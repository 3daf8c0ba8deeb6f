"""The front door in process with a scripted stand-in for Rasa's REST webhook, and python-socketio clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from bot.settings import Settings
from server.app import create_app
from tests.conftest import scripted_rasa
from tests.socketio.scripted_rasa import scripted_rasa_turn
from tests.socketio.webchat_client import RasaWebchatClient


@pytest.fixture
async def rasa_url() -> AsyncIterator[str]:
    async with scripted_rasa(scripted_rasa_turn) as url:
        yield url


@pytest.fixture
async def frontdoor(tmp_path: Path, rasa_url: str) -> AsyncIterator[TestServer]:
    server = TestServer(create_app(Settings(var_dir=tmp_path, rasa_url=rasa_url, rasa_timeout_s=5)), host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
async def webchat(frontdoor: TestServer) -> AsyncIterator[Callable[[], Awaitable[RasaWebchatClient]]]:
    clients: list[RasaWebchatClient] = []

    async def make() -> RasaWebchatClient:
        client = RasaWebchatClient(str(frontdoor.make_url("")).rstrip("/"))
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()
