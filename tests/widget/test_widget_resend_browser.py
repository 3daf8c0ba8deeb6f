"""The widget gives every message a client message id and, when its socket dies after sending but before the server's
echo, re-sends the message after reconnecting: the transcript holds it once, answered once."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, WebSocketRoute

from bot.keys import CONVERSATIONS
from conversations.models import Sender
from tests.widget.browser import Widget

pytestmark = pytest.mark.browser

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def test_a_message_lost_with_its_socket_is_sent_again_with_its_id_and_stored_once(
    browser: Browser, site: str, frontdoor: TestServer
) -> None:
    page = await browser.new_page(locale="en-US")
    sent: list[tuple[int, dict[str, Any]]] = []  # (socket number, message frame) as the page sent them

    sockets = 0

    def first_socket_dies_with_the_message(ws: WebSocketRoute) -> None:
        nonlocal sockets
        sockets += 1
        number = sockets
        server = ws.connect_to_server()

        async def from_page(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("type") == "message":
                sent.append((number, frame))
                if number == 1:
                    await ws.close()  # the network drops the frame with the socket: the server never sees it
                    return
            server.send(message)

        ws.on_message(from_page)

    await page.route_web_socket(re.compile(r".*/ws$"), first_socket_dies_with_the_message)
    await page.goto(site)
    widget = Widget(page)
    await widget.open()
    await widget.say("hello there")
    (reply,) = await widget.wait_for_replies(1)
    assert reply.endswith("echo: hello there")

    # Sent twice, on two sockets, with one id: a fresh UUID the widget made for this message.
    assert [n for n, _ in sent] == [1, 2]
    ids = {frame["client_message_id"] for _, frame in sent}
    assert len(ids) == 1 and UUID.fullmatch(ids.pop())
    conversation_id = await widget.conversation_id(frontdoor)
    history = await frontdoor.app[CONVERSATIONS].history(conversation_id)
    assert [(m.sender, m.text) for m in history] == [
        (Sender.CUSTOMER, "hello there"),
        (Sender.BOT, "echo: hello there"),
    ]
    assert history[0].client_message_id == sent[0][1]["client_message_id"]
    assert await widget.items("customer").count() == 1
    await page.close()
