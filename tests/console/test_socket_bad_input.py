"""Hostile frames on both WebSockets — the customer's live chat and the agent's console — never reach a 500 or
an unhandled exception: a frame that is JSON but wrong (nested thousands deep, a lone surrogate, a NUL, a binary
frame) gets an error frame and the socket stays open; one the WebSocket protocol itself forbids (text that is not
UTF-8, a frame over the size limit) closes the socket with the protocol's code. Nothing bad is stored."""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
import pytest
from aiohttp import WSCloseCode, WSMsgType

from staff.auth import Role
from tests.console.conftest import ChatCustomer, Running, next_frame

DEEP = "[" * 5000 + "]" * 5000
NOT_UTF8 = b'{"type": "message", "text": "\xff\xfe hi"}'


def _error_code(frame: Any) -> str:
    return str(frame["error"]["code"])


async def _closed_with(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    message = await ws.receive(timeout=5)
    while message.type not in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
        message = await ws.receive(timeout=5)
    return ws.close_code


def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


def _customer_socket(customer: ChatCustomer) -> Any:
    return customer.session.ws_connect(f"/api/v1/conversations/{customer.conversation_id}/ws")


@pytest.mark.parametrize(
    ("hello", "code"),
    [
        (DEEP, "bad_json"),
        ('{"type": "hello", "token": "\\ud800"}', "bad_token"),
        ('{"type": "hello", "token": "abc\\u0000"}', "bad_token"),
        ('{"type": "hello", "token": "x", "after": 99999999999999999999999}', "bad_after"),
        ("not json", "bad_json"),
    ],
    ids=["nested", "lone-surrogate", "nul", "beyond-64-bits", "not-json"],
)
async def test_a_bad_hello_gets_an_error_frame_and_a_close_never_a_500(
    running: Running, caplog: pytest.LogCaptureFixture, hello: str, code: str
) -> None:
    customer = await running.customer("en")
    async with _customer_socket(customer) as ws:
        await ws.send_str(hello)
        frame = await next_frame(ws, lambda f: f["type"] == "error")
        assert _error_code(frame) == code
        assert await _closed_with(ws) == WSCloseCode.OK
    _no_errors_logged(caplog)


async def test_a_binary_hello_gets_an_error_frame(running: Running) -> None:
    customer = await running.customer("en")
    async with _customer_socket(customer) as ws:
        await ws.send_bytes(b"\x00\xff binary")
        assert _error_code(await next_frame(ws, lambda f: f["type"] == "error")) == "bad_hello"


async def _ready(customer: ChatCustomer, ws: aiohttp.ClientWebSocketResponse) -> None:
    await ws.send_json({"type": "hello", "token": customer.token})
    await next_frame(ws, lambda f: f["type"] == "ready")


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ('{"type": "message", "text": "nul \\u0000 here"}', "bad_text"),
        ('{"type": "message", "text": "lone \\udc00 here"}', "bad_text"),
        ('{"type": "message", "text": "hi", "payload": {"deep": ' + DEEP + "}}", "bad_json"),
    ],
    ids=["nul", "lone-surrogate", "nested-payload"],
)
async def test_a_bad_customer_frame_gets_an_error_frame_stores_nothing_and_the_chat_goes_on(
    running: Running, caplog: pytest.LogCaptureFixture, frame: str, code: str
) -> None:
    customer = await running.customer("en")
    async with _customer_socket(customer) as ws:
        await _ready(customer, ws)
        await ws.send_str(frame)
        assert _error_code(await next_frame(ws, lambda f: f["type"] == "error")) == code
        await ws.send_bytes(b"\x00binary")
        assert _error_code(await next_frame(ws, lambda f: f["type"] == "error")) == "binary"
        await ws.send_json({"type": "message", "text": "hello"})
        await next_frame(ws, lambda f: f["type"] == "message" and f["message"]["sender"] == "bot")
    assert [m["text"] for m in await customer.history() if m["sender"] == "customer"] == ["hello"]
    _no_errors_logged(caplog)


@pytest.mark.parametrize(
    ("raw", "close_code"),
    [
        (NOT_UTF8, WSCloseCode.INVALID_TEXT),
        (json.dumps({"type": "message", "text": "x" * 70_000}).encode(), WSCloseCode.MESSAGE_TOO_BIG),
    ],
    ids=["not-utf8", "oversized"],
)
async def test_a_frame_the_protocol_forbids_closes_the_customer_socket_with_its_code(
    running: Running, caplog: pytest.LogCaptureFixture, raw: bytes, close_code: WSCloseCode
) -> None:
    customer = await running.customer("en")
    async with _customer_socket(customer) as ws:
        await _ready(customer, ws)
        await ws.send_frame(raw, WSMsgType.TEXT)
        assert await _closed_with(ws) == close_code
    assert [m for m in await customer.history() if m["sender"] == "customer"] == []
    async with _customer_socket(customer) as again:  # the customer reconnects and goes on
        await _ready(customer, again)
    _no_errors_logged(caplog)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (DEEP, "bad_json"),
        ('{"type": "presence", "presence": "online\\u0000"}', "bad_presence"),
        ('{"type": "presence", "presence": "\\ud800"}', "bad_presence"),
        ('{"type": "typing", "conversation_id": 99999999999999999999999}', "bad_conversation_id"),
    ],
    ids=["nested", "nul", "lone-surrogate", "beyond-64-bits"],
)
async def test_a_bad_console_frame_gets_an_error_frame_and_the_console_goes_on(
    running: Running, caplog: pytest.LogCaptureFixture, frame: str, code: str
) -> None:
    agent = await running.staff("ann", Role.AGENT)
    async with agent.socket() as ws:
        await next_frame(ws, lambda f: f["type"] == "ready")
        await ws.send_str(frame)
        assert _error_code(await next_frame(ws, lambda f: f["type"] == "error")) == code
        await ws.send_bytes(b"\x00binary")
        assert _error_code(await next_frame(ws, lambda f: f["type"] == "error")) == "binary"
        await ws.send_json({"type": "ping"})
        await next_frame(ws, lambda f: f["type"] == "pong")
    _no_errors_logged(caplog)


@pytest.mark.parametrize(
    ("raw", "close_code"),
    [
        (b'{"type": "ping", "x": "\xff\xfe"}', WSCloseCode.INVALID_TEXT),
        (json.dumps({"type": "ping", "x": "x" * 20_000}).encode(), WSCloseCode.MESSAGE_TOO_BIG),
    ],
    ids=["not-utf8", "oversized"],
)
async def test_a_frame_the_protocol_forbids_closes_the_console_with_its_code(
    running: Running, caplog: pytest.LogCaptureFixture, raw: bytes, close_code: WSCloseCode
) -> None:
    agent = await running.staff("ann", Role.AGENT)
    async with agent.socket() as ws:
        await next_frame(ws, lambda f: f["type"] == "ready")
        await ws.send_frame(raw, WSMsgType.TEXT)
        assert await _closed_with(ws) == close_code
    async with agent.socket() as again:
        await next_frame(again, lambda f: f["type"] == "ready")
    _no_errors_logged(caplog)
