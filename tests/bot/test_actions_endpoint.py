"""The in-process actions webhook: only Rasa may call it, and it runs rasa-sdk actions with our services."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.actions_endpoint import ACTIONS_TOKEN, ACTIONS_TOKEN_FILE, actions_token
from bot.keys import KB_SETTINGS, TICKETS
from bot.settings import Settings
from intake.models import Priority, TicketDraft
from intake.settings import IntakeConfig
from intake.sla import SlaDeadlines
from kb.service import KBSettings
from kb.settings import KBConfig
from server.app import create_app

TOKEN = "s3cret-token"


def action_call(name: str, text: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "next_action": name,
        "sender_id": "conv_1",
        "version": "3.6.21",
        "domain": {"slots": {"language": {"type": "categorical", "values": ["en", "zh"]}}, "responses": {}},
        "tracker": {
            "sender_id": "conv_1",
            "slots": {},
            "latest_message": {"text": text, "intent": {"name": "greet"}, "entities": [], "metadata": metadata or {}},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    app = create_app(Settings(var_dir=tmp_path, actions_token=TOKEN, rasa_url="http://127.0.0.1:9"))
    app[KB_SETTINGS] = KBSettings(seed_demo=False, preload=False)
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_rasa_with_the_token_runs_an_action(client: TestClient) -> None:  # type: ignore[type-arg]
    response = await client.post(f"/webhook?token={TOKEN}", json=action_call("action_reset_issue_form", "算了"))
    assert response.status == 200
    body = await response.json()
    assert {"event": "slot", "name": "order_number", "value": None}.items() <= body["events"][0].items()


async def test_a_deflated_action_call_is_accepted(client: TestClient) -> None:  # type: ignore[type-arg]
    import json

    raw = zlib.compress(json.dumps(action_call("action_reset_issue_form", "hello")).encode())
    response = await client.post(f"/webhook?token={TOKEN}", data=raw, headers={"Content-Encoding": "deflate"})
    assert response.status == 200


async def test_callers_without_the_token_are_refused(client: TestClient) -> None:  # type: ignore[type-arg]
    response = await client.post("/webhook?token=wrong", json=action_call("action_reset_issue_form", "hi"))
    assert response.status == 403


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"{oops", 400), (b'{"next_action": "x"}', 400), (b"\x00\x01binary", 400)],
)
async def test_malformed_action_calls_get_client_errors(client: TestClient, body: bytes, status: int) -> None:  # type: ignore[type-arg]
    assert (await client.post(f"/webhook?token={TOKEN}", data=body)).status == status


async def test_an_unknown_action_is_a_404(client: TestClient) -> None:  # type: ignore[type-arg]
    response = await client.post(f"/webhook?token={TOKEN}", json=action_call("action_nope", "hi"))
    assert response.status == 404


async def test_a_custom_ticket_prefix_still_lets_a_customer_look_their_ticket_up(tmp_path: Path) -> None:
    settings = Settings(
        var_dir=tmp_path,
        actions_token=TOKEN,
        rasa_url="http://127.0.0.1:9",
        kb=KBConfig(seed_demo=False, preload=False),
        intake=IntakeConfig.from_env({"FD_INTAKE_TICKET_PREFIX": "ACME"}),
    )
    async with TestClient(TestServer(create_app(settings))) as client:
        ticket = await client.app[TICKETS].create(
            TicketDraft("cust-1", "conv_1", description="my kettle leaks"),
            priority=Priority.NORMAL,
            deadlines=SlaDeadlines(0.0, 0.0),
        )
        assert ticket.number == "ACME-000001"
        call = action_call("action_check_ticket", "what about acme 1?", metadata={"customer_id": "cust-1"})
        response = await client.post(f"/webhook?token={TOKEN}", json=call)
        assert response.status == 200
        texts = [r["text"] for r in (await response.json())["responses"]]
        assert len(texts) == 1 and texts[0].startswith("Ticket ACME-000001"), texts


async def test_without_a_configured_token_a_generated_one_is_required_from_loopback_too(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, rasa_url="http://127.0.0.1:9", kb=KBConfig(seed_demo=False, preload=False))
    async with TestClient(TestServer(create_app(settings))) as client:
        # The test client calls from 127.0.0.1: loopback alone is no longer enough.
        assert (await client.post("/webhook", json=action_call("action_reset_issue_form", "hi"))).status == 403
        token_file = tmp_path / ACTIONS_TOKEN_FILE
        assert token_file.stat().st_mode & 0o777 == 0o600
        token = token_file.read_text().strip()
        assert len(token) >= 32 and client.app[ACTIONS_TOKEN] == token == actions_token(settings)
        response = await client.post(f"/webhook?token={token}", json=action_call("action_reset_issue_form", "hi"))
        assert response.status == 200
    # A restart keeps it: the Rasa started with it still gets in.
    async with TestClient(TestServer(create_app(settings))) as client:
        assert client.app[ACTIONS_TOKEN] == token


def test_a_configured_token_wins_over_the_generated_one(tmp_path: Path) -> None:
    assert actions_token(Settings(var_dir=tmp_path, actions_token=TOKEN)) == TOKEN
    assert not (tmp_path / ACTIONS_TOKEN_FILE).exists()
