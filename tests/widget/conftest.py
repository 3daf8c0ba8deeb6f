"""The front door in process (a scripted stand-in answers for Rasa), so a test can drive handoff events itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.settings import Settings
from server.app import create_app
from tests.socketio.scripted_rasa import scripted_rasa_turn


@pytest.fixture
async def frontdoor(tmp_path: Path) -> AsyncIterator[TestServer]:
    rasa = web.Application()
    rasa.router.add_post("/webhooks/rest/webhook", scripted_rasa_turn)
    rasa_server = TestServer(rasa, host="127.0.0.1")
    await rasa_server.start_server()
    rasa_url = str(rasa_server.make_url("")).rstrip("/")
    server = TestServer(create_app(Settings(var_dir=tmp_path, rasa_url=rasa_url, rasa_timeout_s=5)), host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()
        await rasa_server.close()
