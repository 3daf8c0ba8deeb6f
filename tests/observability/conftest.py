"""Fixtures for the observability tests: captured JSON logs, and the whole front door in-process with a scripted
Rasa that calls the front door's actions webhook back during a turn, as the real one does."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp import web

from bot.actions_endpoint import ACTIONS_TOKEN
from bot.settings import Settings
from handoff.settings import HandoffConfig
from kb.settings import KBConfig
from observability import configure_logging
from server.app import create_app
from tests.conftest import scripted_rasa, serving


@dataclass
class CapturedLogs:
    stream: io.StringIO

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]

    def find(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("event") == event]


@pytest.fixture
def logs() -> Iterator[CapturedLogs]:
    """Logging configured as `frontdoor serve` does (JSON), into a buffer; the previous configuration comes back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("INFO", "json", stream)
    try:
        yield CapturedLogs(stream)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        structlog.reset_defaults()


class LoopbackRasa:
    """Answers a REST turn like Rasa: first runs an action (`action_reset_issue_form`) on the front door's webhook
    with the tracker Rasa would send (sender = conversation id, the user message's metadata), then replies. "human"
    in the message hands off, like the console tests' Rasa."""

    def __init__(self) -> None:
        self.front_door = ""
        self.token = ""  # the actions webhook's (the app's ACTIONS_TOKEN)
        self.turns: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []

    async def turn(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.turns.append(body)
        self.headers.append(dict(request.headers))
        call = {
            "next_action": "action_reset_issue_form",
            "sender_id": body["sender"],
            "version": "3.6.21",
            "domain": {"slots": {"language": {"type": "categorical", "values": ["en", "zh"]}}, "responses": {}},
            "tracker": {
                "sender_id": body["sender"],
                "slots": {},
                "latest_message": {
                    "text": body["message"],
                    "intent": {"name": "greet"},
                    "entities": [],
                    "metadata": body.get("metadata", {}),
                },
                "events": [],
                "paused": False,
                "followup_action": None,
                "active_loop": {},
                "latest_action_name": "action_listen",
            },
        }
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.front_door}/webhook?token={self.token}", json=call) as response,
        ):
            assert response.status == 200, await response.text()
        if "human" in body["message"]:
            handoff = {"reason": "customer_request", "scores": {}, "category": "", "priority": "normal", "fields": {}}
            return web.json_response([{"text": "Connecting you."}, {"custom": {"handoff": handoff}}])
        return web.json_response([{"text": f"echo: {body['message']}"}])


@dataclass
class FrontDoor:
    app: web.Application
    url: str
    rasa: LoopbackRasa

    async def conversation(self, session: aiohttp.ClientSession) -> tuple[str, dict[str, str]]:
        async with session.post(f"{self.url}/api/v1/conversations", json={"language": "en"}) as response:
            data = await response.json()
        return data["conversation_id"], {"Authorization": f"Bearer {data['customer_token']}"}


def observed_settings(tmp_path: Path, **fields: Any) -> Settings:
    defaults: dict[str, Any] = {
        "var_dir": tmp_path,
        "rasa_timeout_s": 5.0,
        "kb": KBConfig(seed_demo=False, preload=False),
        "handoff": HandoffConfig(sweep_interval_s=0.2),
    }
    return Settings(**(defaults | fields))


async def front_door(
    settings_fields: dict[str, Any],
    tmp_path: Path,
    before_start: Callable[[web.Application], None] | None = None,
) -> AsyncIterator[FrontDoor]:
    """The front door with `settings_fields` over a LoopbackRasa; `before_start` may add test-only middleware."""
    rasa = LoopbackRasa()
    async with scripted_rasa(rasa.turn) as rasa_url:
        app = create_app(observed_settings(tmp_path, **({"rasa_url": rasa_url} | settings_fields)))
        if before_start is not None:
            before_start(app)
        async with serving(app) as url:
            rasa.front_door, rasa.token = url, app[ACTIONS_TOKEN]
            yield FrontDoor(app, url, rasa)


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[FrontDoor]:
    async for harness in front_door({}, tmp_path):
        yield harness
