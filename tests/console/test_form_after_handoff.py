"""A form the bot was running when an agent joined is ended in Rasa (its HTTP API's tracker events), so it does not
resume uninvited when the bot is back: it would swallow the satisfaction rating and re-ask its question after every
later reply."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import serving
from tests.console.conftest import Running, is_event, next_frame, scripted_rasa_turn


@pytest.fixture
def tracker_events() -> list[tuple[str, Any]]:
    return []


@pytest.fixture
async def rasa_url(tracker_events: list[tuple[str, Any]]) -> AsyncIterator[str]:
    """The console's scripted Rasa, with the HTTP API's tracker events endpoint recording what it is sent."""

    async def append_events(request: web.Request) -> web.Response:
        assert request.query.get("include_events") == "NONE"
        tracker_events.append((request.match_info["sender"], await request.json()))
        return web.json_response({"sender_id": request.match_info["sender"]})

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", scripted_rasa_turn)
    app.router.add_post("/conversations/{sender}/tracker/events", append_events)
    async with serving(app) as url:
        yield url


async def test_an_agent_joining_ends_the_bots_form(running: Running, tracker_events: list[tuple[str, Any]]) -> None:
    customer = await running.customer("en")
    await customer.say("I want a human")
    assert tracker_events == []  # waiting in the queue: the bot may still be asking
    ann = await running.staff("ann")
    async with ann.socket() as ws:
        await next_frame(ws, lambda f: f["type"] == "ready")
        await ws.send_json({"type": "presence", "presence": "online"})
        await next_frame(ws, is_event("assigned", "agent:"))
        await customer.wait_for(lambda m: m["sender"] == "system" and "Ann" in m["text"])
    assert tracker_events == [
        (
            customer.conversation_id,
            [{"event": "active_loop", "name": None}, {"event": "slot", "name": "requested_slot", "value": None}],
        )
    ]
