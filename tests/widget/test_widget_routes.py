"""The widget's routes and the chat API's CORS, in process (no Rasa: no customer message is sent)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.settings import Settings
from bot.widget import OriginPolicy, host_page
from server.app import create_app

FOREIGN = "https://shop.example"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient[aiohttp.web.Request, aiohttp.web.Application]]:
    async with TestClient(TestServer(create_app(Settings(var_dir=tmp_path)))) as client:
        yield client


@pytest.fixture
async def strict_client(tmp_path: Path) -> AsyncIterator[TestClient[aiohttp.web.Request, aiohttp.web.Application]]:
    settings = Settings(var_dir=tmp_path, chat_allowed_origins=f"{FOREIGN}, https://other.example/")
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


Client = TestClient[aiohttp.web.Request, aiohttp.web.Application]


async def test_the_widget_script_is_served_as_javascript_any_site_may_load(client: Client) -> None:
    response = await client.get("/widget.js")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    body = await response.text()
    assert "attachShadow" in body
    assert ".innerHTML" not in body and "insertAdjacentHTML" not in body and "document.write" not in body


async def test_a_preflight_from_another_origin_is_answered_for_the_chat_api(client: Client) -> None:
    headers = {
        "Origin": FOREIGN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    response = await client.options("/api/v1/conversations/conv_x/messages", headers=headers)
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]


async def test_another_origin_can_start_a_conversation_and_read_errors(client: Client) -> None:
    response = await client.post("/api/v1/conversations", json={}, headers={"Origin": FOREIGN})
    assert response.status == 201
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    conversation_id = (await response.json())["conversation_id"]
    wrong = {"Origin": FOREIGN, "Authorization": "Bearer wrong"}
    refused = await client.get(f"/api/v1/conversations/{conversation_id}/messages", headers=wrong)
    assert refused.status == 401
    assert refused.headers["Access-Control-Allow-Origin"] == "*"


async def test_staff_routes_never_get_cors_headers(client: Client) -> None:
    for method, path in [("GET", "/login"), ("POST", "/login"), ("OPTIONS", "/login"), ("GET", "/healthz")]:
        response = await client.request(
            method, path, headers={"Origin": FOREIGN, "Access-Control-Request-Method": "POST"}
        )
        assert "Access-Control-Allow-Origin" not in response.headers, (method, path)


async def test_a_configured_origin_is_echoed_and_others_are_refused(strict_client: Client) -> None:
    allowed = await strict_client.post("/api/v1/conversations", json={}, headers={"Origin": FOREIGN})
    assert allowed.status == 201
    assert allowed.headers["Access-Control-Allow-Origin"] == FOREIGN
    assert "Origin" in allowed.headers.getall("Vary")
    refused = await strict_client.post("/api/v1/conversations", json={}, headers={"Origin": "https://evil.example"})
    assert refused.status == 403
    assert (await refused.json())["error"]["code"] == "origin_refused"
    assert "Access-Control-Allow-Origin" not in refused.headers
    preflight = await strict_client.options(
        "/api/v1/conversations", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status == 403


async def test_the_front_doors_own_pages_are_never_refused(strict_client: Client) -> None:
    own = str(strict_client.make_url("")).rstrip("/")
    response = await strict_client.post("/api/v1/conversations", json={}, headers={"Origin": own})
    assert response.status == 201
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_a_websocket_from_a_refused_origin_is_turned_away(strict_client: Client) -> None:
    started = await strict_client.post("/api/v1/conversations", json={})
    conversation_id = (await started.json())["conversation_id"]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await strict_client.ws_connect(
            f"/api/v1/conversations/{conversation_id}/ws", headers={"Origin": "https://evil.example"}
        )
    assert refused.value.status == 403
    ws = await strict_client.ws_connect(f"/api/v1/conversations/{conversation_id}/ws", headers={"Origin": FOREIGN})
    await ws.close()


async def test_socketio_follows_the_same_origin_list(strict_client: Client) -> None:
    url = "/socket.io/?EIO=4&transport=polling"
    allowed = await strict_client.get(url, headers={"Origin": FOREIGN})
    assert allowed.status == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == FOREIGN
    refused = await strict_client.get(url, headers={"Origin": "https://evil.example"})
    assert refused.status == 400


async def test_the_demo_page_embeds_the_widget_with_one_script_tag(client: Client) -> None:
    response = await client.get("/widget/demo", params={"title": 'Acme "help"', "color": "#0a7", "bogus": "x"})
    page = await response.text()
    assert page.count("<script") == 1
    assert 'src="/widget.js" data-title="Acme &quot;help&quot;" data-color="#0a7"' in page
    assert "bogus" not in page
    assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'self' covers /widget.js


def test_host_page_attributes_are_escaped() -> None:
    page = host_page("https://fd.example/widget.js", {"greeting": '"><script>alert(1)</script>'})
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("", None),
        ("*", None),
        ("https://a.example, https://B.example/", frozenset({"https://a.example", "https://b.example"})),
        ("https://a.example *", None),
    ],
)
def test_allowed_origins_are_read_from_one_setting(value: str, origins: frozenset[str] | None) -> None:
    assert OriginPolicy.from_setting(value).origins == origins
