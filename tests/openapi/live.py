"""The whole front door on loopback in a thread of its own, for clients that block (schemathesis calls with
`requests`): its own event loop, a scripted Rasa, a staff member with every role logged in with the CSRF token, a
customer with a conversation, and one of each thing the API's paths name (ticket, FAQ entry, customer record)."""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
from aiohttp import web

from analytics.metrics import KPI_KEYS
from bot.settings import Settings
from intake.teams import DEFAULT_TEAM
from server.app import create_app
from staff.auth import CSRF_COOKIE, CSRF_HEADER, Role
from staff.keys import STAFF
from tests.console.conftest import PASSWORD, console_settings, scripted_rasa_turn
from web.openapi import openapi_document
from web.serving import JsonErrorsRunner

T = TypeVar("T")
START_TIMEOUT_S = 60.0
STAFF_USERNAME = "sue"


@dataclass(frozen=True)
class LiveApp:
    url: str
    # Staff session cookie, its CSRF token header and the customer's bearer token: every operation's credentials.
    session: requests.Session
    # A real value for each path parameter, so that generated requests reach past "not found".
    known: dict[str, str]


class _Loop:
    """An event loop running in a daemon thread; `run` waits for a coroutine there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="live-app", daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(START_TIMEOUT_S)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(START_TIMEOUT_S)
        self.loop.close()


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = JsonErrorsRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def _rasa_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", scripted_rasa_turn)
    return app


def _json(response: requests.Response, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _prepare(url: str, session: requests.Session) -> dict[str, str]:
    """Logs the staff member in, starts a customer's conversation and makes one of each thing a path names."""
    login = session.post(f"{url}/login", data={"username": STAFF_USERNAME, "password": PASSWORD}, allow_redirects=False)
    assert login.status_code == 303, login.text
    session.headers[CSRF_HEADER] = session.cookies[CSRF_COOKIE]
    chat = _json(session.post(f"{url}/api/v1/conversations", json={"language": "en"}), 201)
    session.headers["Authorization"] = f"Bearer {chat['customer_token']}"
    conversation_id = chat["conversation_id"]
    _json(session.post(f"{url}/api/v1/conversations/{conversation_id}/messages", json={"text": "hello"}), 200)
    ticket = _json(session.post(f"{url}/api/v1/console/conversations/{conversation_id}/ticket", json={}), 201)
    entry = {"question": "How do I return a blender?", "answer": "Within 30 days.", "language": "en"}
    created = _json(session.post(f"{url}/api/v1/kb/entries", json=entry), 201)
    return {
        "conversation_id": conversation_id,
        "number": ticket["ticket"]["number"],
        "customer_id": ticket["ticket"]["customer_id"],
        "entry_id": created["id"],
        "team_id": DEFAULT_TEAM,
        "username": STAFF_USERNAME,
        "kpi": KPI_KEYS[0],
        "language": "en",
    }


def described_api() -> dict[str, Any]:
    """The OpenAPI document of both programs, from an app that is built but never started."""
    with tempfile.TemporaryDirectory() as var_dir:
        return openapi_document(create_app(Settings(var_dir=Path(var_dir))), "frontdoor", "test")


@contextmanager
def live_app(tmp_path: Path) -> Iterator[LiveApp]:
    loop = _Loop()
    runners: list[web.AppRunner] = []
    try:
        rasa, rasa_url = loop.run(_serve(loop.run(_rasa_app())))
        runners.append(rasa)
        app = create_app(console_settings(tmp_path, rasa_url, ""))
        runner, url = loop.run(_serve(app))
        runners.append(runner)
        roles = (Role.AGENT, Role.SUPERVISOR, Role.EDITOR)
        loop.run(app[STAFF].add(STAFF_USERNAME, PASSWORD, roles, "Sue"))
        with requests.Session() as session:
            known = _prepare(url, session)
            yield LiveApp(url, session, known)
    finally:
        for runner in reversed(runners):
            loop.run(runner.cleanup())
        loop.stop()
