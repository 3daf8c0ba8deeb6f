"""A request aiohttp cannot parse (a request line over its limit, a header that is not HTTP) gets a JSON 400 from
the runner `frontdoor serve` uses, like every other bad request, and the connection is closed."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from web.serving import JsonErrorsRunner


async def _thing(_request: web.Request) -> web.Response:
    return web.json_response({})


@pytest.fixture
async def port() -> AsyncIterator[int]:
    app = web.Application()
    app.router.add_get("/api/v1/thing", _thing)
    runner = JsonErrorsRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def _raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /api/v1/thing?q=" + b"x" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /api/v1/thing HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"GET /api/v1/thing HTTP/1.1\r\nHost: x\r\nX-Long: " + b"y" * 9000 + b"\r\n\r\n",
    ],
    ids=["request-line-too-long", "not-a-header", "header-too-long"],
)
async def test_an_unparseable_request_gets_a_json_400_and_a_log_line(
    port: int, request_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        status, headers, body = await _raw(port, request_bytes)
    assert status == 400
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["error"]["code"] == "bad_http"
    assert [r.levelno for r in caplog.records if "malformed HTTP" in r.getMessage()] == [logging.INFO]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_good_request_on_the_same_runner_is_served(port: int) -> None:
    status, _headers, body = await _raw(port, b"GET /api/v1/thing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (status, json.loads(body)) == (200, {})
