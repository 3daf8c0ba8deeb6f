"""Customer text with a NUL, a control character or a lone surrogate is refused with a 400 on every customer entry
point (JSON API, WebSocket, Socket.IO), never a 500, and never reaches the transcript."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.keys import CONVERSATIONS
from tests.console.conftest import Running, next_frame

BAD_TEXTS = ["nul \x00 byte", "lone \ud800 surrogate", "escape \x1b[2J"]


async def post_raw(running: Running, conversation_id: str, token: str, body: bytes) -> tuple[int, Any]:
    session = running.sessions[0]
    path = f"/api/v1/conversations/{conversation_id}/messages"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with session.post(path, data=body, headers=headers) as response:
        return response.status, await response.json()


@pytest.mark.parametrize("text", BAD_TEXTS)
async def test_the_chat_api_refuses_bad_text_with_a_400(running: Running, text: str) -> None:
    customer = await running.customer("en")
    # json.dumps escapes a lone surrogate as \\ud800, exactly what a buggy client sends.
    status, body = await post_raw(
        running, customer.conversation_id, customer.token, json.dumps({"text": text}).encode()
    )
    assert (status, body["error"]["code"]) == (400, "bad_text")
    assert await running.app[CONVERSATIONS].history(customer.conversation_id) == []


async def test_the_chat_websocket_answers_bad_text_with_an_error_frame_and_stays_open(running: Running) -> None:
    customer = await running.customer("en")
    async with customer.session.ws_connect(f"/api/v1/conversations/{customer.conversation_id}/ws") as ws:
        await ws.send_json({"type": "hello", "token": customer.token})
        await next_frame(ws, lambda f: f["type"] == "ready")
        for text in BAD_TEXTS:
            await ws.send_str(json.dumps({"type": "message", "text": text}))
            error = await next_frame(ws, lambda f: f["type"] == "error")
            assert error["error"]["code"] == "bad_text"
        await ws.send_json({"type": "message", "text": "hello"})
        echoed = await next_frame(ws, lambda f: f["type"] == "message" and f["message"]["sender"] == "bot")
        assert echoed["message"]["text"] == "echo: hello"
