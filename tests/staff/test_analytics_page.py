"""The analytics page and the read-only transcript, over HTTP: who may open them (the staff 403 page for anyone
else), the vendored ECharts served from our own origin, and the transcript JSON for any conversation, with the
handoff's internal notes and without the machine's event lines."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.handoff_bridge import HANDOFF
from bot.keys import CONVERSATIONS
from bot.settings import Settings
from conversations.models import Sender
from conversations.store import MessageDraft
from handoff.agents import AgentProfile, Presence
from server.app import create_app
from staff.auth import Role
from staff.keys import STAFF
from tests.staff.analytics_fixture import CUSTOMER_TEXT

ACCOUNTS = {"ann": [Role.AGENT], "sam": [Role.SUPERVISOR], "eve": [Role.EDITOR]}
STATIC = Path(__file__).resolve().parents[2] / "staff" / "static"

Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    app = create_app(Settings(var_dir=tmp_path, rasa_url="http://127.0.0.1:9"))
    async with TestClient(TestServer(app)) as client:
        for username, roles in ACCOUNTS.items():
            await app[STAFF].add(username, "pw", roles, username.title())
        yield client


async def log_in(client: Client, username: str) -> None:
    response = await client.post("/login", data={"username": username, "password": "pw"}, allow_redirects=False)
    assert response.status == 303


@pytest.mark.parametrize("username", ["ann", "eve"])
async def test_an_agent_or_an_editor_gets_the_staff_403_page(client: Client, username: str) -> None:
    await log_in(client, username)
    response = await client.get("/console/analytics", allow_redirects=False)
    assert response.status == 403
    page = await response.text()
    assert (
        'data-role="supervisor"' in page
        and "This page is for supervisors." in page
        and "/staff/static/shell.js" in page
    )


async def test_a_supervisor_opens_the_page_and_its_charts_come_from_our_own_origin(client: Client) -> None:
    assert (await client.get("/console/analytics", allow_redirects=False)).headers["Location"].startswith("/login")
    await log_in(client, "sam")
    response = await client.get("/console/analytics")
    assert response.status == 200
    page = await response.text()
    assert '<script src="/staff/static/vendor/echarts.min.js"></script>' in page
    assert "http://" not in page and "https://" not in page  # no CDN: the product runs offline
    assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'self' covers our scripts
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    script = await client.get("/staff/static/vendor/echarts.min.js")
    assert script.status == 200 and script.content_type == "application/javascript"
    assert "Apache License" in (STATIC / "vendor" / "echarts.LICENSE").read_text(encoding="utf-8")


async def test_an_agent_reads_any_transcript_with_its_internal_notes(client: Client) -> None:
    app = client.server.app
    store = app[CONVERSATIONS]
    customer, _ = await store.customer_for_identity("web", "visitor-9", "en")
    conversation = await store.create_conversation(customer.id, "web", "en")
    await store.append(
        conversation.id,
        [
            MessageDraft(Sender.CUSTOMER, CUSTOMER_TEXT),
            MessageDraft(Sender.EVENT, custom={"handoff": {"reason": "customer_request"}}),
            MessageDraft(Sender.AGENT, "Hi, this is Sam.", sender_id="sam"),
        ],
    )
    handoff = app[HANDOFF]
    await handoff.register_agent(AgentProfile(id="sam", display_name="Sam", languages=("en",)))
    await handoff.set_presence("sam", Presence.ONLINE)
    await handoff.request_handoff(conversation.id, customer.id, "en")
    record = await handoff.state_of(conversation.id)
    assert record is not None
    if record.agent_id != "sam":
        assert await handoff.claim(conversation.id, "sam")
    assert await handoff.close(conversation.id, "sam", "Refund promised by Friday.")

    await log_in(client, "eve")
    assert (await client.get(f"/api/v1/staff/conversations/{conversation.id}")).status == 403
    assert (await client.get(f"/console/conversations/{conversation.id}", allow_redirects=False)).status == 403
    await log_in(client, "ann")  # an agent who never owned it: read only, so any agent may
    assert (await client.get(f"/console/conversations/{conversation.id}")).status == 200
    response = await client.get(f"/api/v1/staff/conversations/{conversation.id}")
    assert response.status == 200
    body = await response.json()
    assert body["conversation"]["id"] == conversation.id and body["customer"]["id"] == customer.id
    lines = [(m["sender"], m["text"]) for m in body["messages"]]
    assert lines[:2] == [("customer", CUSTOMER_TEXT), ("agent", "Hi, this is Sam.")]
    assert {sender for sender, _ in lines[2:]} <= {"system"}  # the handoff's own words to the customer
    assert [(n["kind"], n["actor"], n["text"]) for n in body["notes"]] == [
        ("resolution", "sam", "Refund promised by Friday.")
    ]
    assert body["tickets"] == []
    missing = await client.get("/api/v1/staff/conversations/conv-nobody")
    assert missing.status == 404 and (await missing.json())["error"]["code"] == "not_found"
