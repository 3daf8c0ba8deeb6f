"""Malformed input of every kind gets a clear 4xx JSON error on every entry point, never a 500: JSON nested thousands
deep, lone surrogates and NULs in any field (not only free text), integers beyond 64 bits, NULs in the address,
header bytes that are not text, unknown routes and methods; WebSockets answer with an error frame and stay open."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

from staff.auth import Role
from tests.console.conftest import Running, next_frame

DEEP = b"[" * 5000 + b"]" * 5000
DEEP_OBJECT = b'{"text": ' + DEEP + b"}"


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["array", "in-object"])
async def test_json_nested_thousands_deep_is_a_400_everywhere(running: Running, body: bytes) -> None:
    customer = await running.customer("en")
    supervisor = await running.staff("sue", Role.SUPERVISOR, Role.AGENT, Role.EDITOR)
    customer_paths = ["/api/v1/conversations", f"/api/v1/conversations/{customer.conversation_id}/messages"]
    for path in customer_paths:
        async with customer.session.post(path, data=body, headers=customer.headers) as response:
            assert (response.status, (await response.json())["error"]["code"]) == (400, "bad_json"), path
    for path in ["/api/v1/kb/entries", "/api/v1/kb/try", "/api/v1/teams/t1", "/api/v1/console/presence"]:
        method = "PUT" if path.startswith("/api/v1/teams") else "POST"
        async with supervisor.session.request(
            method, path, data=body, headers={"Content-Type": "application/json"}
        ) as r:
            assert (r.status, (await r.json())["error"]["code"]) == (400, "bad_json"), path


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"language": "en", "visitor_token": "\\ud800abc"}', "bad_visitor_token"),
        (b'{"language": "en\\u0000"}', "bad_language"),
        (b'{"language": "en", "n": 99999999999999999999999}', "bad_n"),
        (b'{"language": "en"', "bad_json"),
        (b'\xff\xfe{"language": "en"}', "bad_json"),
    ],
    ids=["lone-surrogate-in-an-id", "nul", "beyond-64-bits", "truncated", "not-utf8"],
)
async def test_a_bad_value_in_any_field_is_a_400_and_creates_nothing(running: Running, body: bytes, code: str) -> None:
    customer = await running.customer("en")  # a session to post with
    async with customer.session.post("/api/v1/conversations", data=body) as response:
        assert (response.status, (await response.json())["error"]["code"]) == (400, code)


async def test_query_parameters_with_a_nul_or_beyond_64_bits_are_a_400(running: Running) -> None:
    customer = await running.customer("en")
    path = f"/api/v1/conversations/{customer.conversation_id}/messages"
    async with customer.session.get(f"{path}?after=99999999999999999999999", headers=customer.headers) as response:
        assert (response.status, (await response.json())["error"]["code"]) == (400, "bad_after")
    agent = await running.staff("ann", Role.AGENT)
    for query in ("q=%00drop", "team=a%00b", "limit=1%00"):
        async with agent.session.get(f"/api/v1/tickets?{query}") as response:
            assert (response.status, (await response.json())["error"]["code"]) == (400, "bad_query"), query
    async with agent.session.get("/api/v1/tickets?limit=100000000000000000000") as response:
        assert (response.status, (await response.json())["error"]["code"]) == (400, "bad_limit")


async def test_an_authorization_header_of_bytes_that_are_not_text_is_a_401(running: Running) -> None:
    customer = await running.customer("en")
    address = urlsplit(running.url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(
        f"GET /api/v1/conversations/{customer.conversation_id}/messages HTTP/1.1\r\n".encode()
        + f"Host: {address.netloc}\r\nConnection: close\r\n".encode()
        + b"Authorization: Bearer \xff\xfe\xed\xa0\x80token\r\n\r\n"
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    assert status_line.split()[1] == b"401"


async def test_unknown_api_routes_and_methods_answer_json(running: Running) -> None:
    customer = await running.customer("en")
    async with customer.session.get("/api/v1/no-such-thing") as response:
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"
    async with customer.session.delete("/api/v1/conversations") as response:
        assert response.status == 405
        assert (await response.json())["error"]["code"] == "method_not_allowed"
        assert "POST" in response.headers["Allow"]


async def test_both_websockets_answer_bad_frames_with_an_error_frame_and_stay_open(running: Running) -> None:
    customer = await running.customer("en")
    async with customer.session.ws_connect(f"/api/v1/conversations/{customer.conversation_id}/ws") as ws:
        await ws.send_json({"type": "hello", "token": customer.token})
        await next_frame(ws, lambda f: f["type"] == "ready")
        for frame, code in (
            (DEEP.decode(), "bad_json"),
            ('{"type": "message", "text": "hi", "x": "\\ud800"}', "bad_x"),
        ):
            await ws.send_str(frame)
            assert (await next_frame(ws, lambda f: f["type"] == "error"))["error"]["code"] == code
        await ws.send_json({"type": "message", "text": "hello"})
        await next_frame(ws, lambda f: f["type"] == "message" and f["message"]["sender"] == "bot")
    agent = await running.staff("ann", Role.AGENT)
    async with agent.socket() as ws:
        await ws.send_str(DEEP.decode())
        assert (await next_frame(ws, lambda f: f["type"] == "error"))["error"]["code"] == "bad_json"
        await ws.send_json({"type": "ping"})
        await next_frame(ws, lambda f: f["type"] == "pong")
