"""The chat API gives the widget the bot's Markdown as sanitised HTML beside the text, everywhere a message reaches a
customer's client (the reply to a send, the history, the live socket); everyone else's text is only text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.keys import PIPELINE
from tests.conftest import echoing_customer_program

Client = TestClient  # type: ignore[type-arg]
HOSTILE = "**Hi** <script>alert(1)</script> [x](javascript:alert(2)) [ok](https://shop.example/r)"
SAFE_HTML = (
    "<p>echo: <strong>Hi</strong> &lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:alert(2)) "
    '<a href="https://shop.example/r" rel="noopener noreferrer nofollow">ok</a></p>\n'
)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    async with echoing_customer_program(tmp_path) as client:
        yield client


async def test_the_bots_markdown_comes_as_sanitised_html_and_the_customers_words_as_text(client: Client) -> None:
    started: dict[str, Any] = await (await client.post("/api/v1/conversations", json={})).json()
    path = f"/api/v1/conversations/{started['conversation_id']}/messages"
    auth = {"Authorization": f"Bearer {started['customer_token']}"}
    sent = await (await client.post(path, json={"text": HOSTILE}, headers=auth)).json()
    assert [(m["sender"], m["html"]) for m in sent["messages"]] == [("bot", SAFE_HTML)]
    history = (await (await client.get(path, headers=auth)).json())["messages"]
    assert [(m["sender"], m["text"], m["html"]) for m in history] == [
        ("customer", HOSTILE, None),
        ("bot", f"echo: {HOSTILE}", SAFE_HTML),
    ]

    async with client.ws_connect(f"/api/v1/conversations/{started['conversation_id']}/ws") as ws:
        await ws.send_json({"type": "hello", "token": started["customer_token"], "after": 2})
        assert (await ws.receive_json())["messages"] == []
        await client.app[PIPELINE].post_from_agent(started["conversation_id"], "ann", "**as typed**")
        live = (await ws.receive_json())["message"]
        assert (live["sender"], live["text"], live["html"]) == ("agent", "**as typed**", None)
