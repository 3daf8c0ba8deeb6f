"""Serving an application so that even a request aiohttp cannot parse (a request line or header over its limits,
bytes that are not HTTP) gets a JSON error, like every other failure: `JsonErrorsRunner` replaces `web.AppRunner`.

aiohttp answers those itself, below every middleware, from `RequestHandler.handle_error` (as text/plain); the
runner gives its connections a handler that answers 4xx in our JSON shape instead. It overrides
`AppRunner._make_server` and `Server.__call__`, which aiohttp documents no hook for; `tests/openapi` checks it
against the installed aiohttp."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from web.http import error_body

log = logging.getLogger(__name__)


class _JsonErrorsHandler(RequestHandler):
    def handle_error(
        self, request: BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        if not 400 <= status < 500:
            return super().handle_error(request, status, exc, message)
        if request.writer.output_size > 0:  # as aiohttp: a response already started cannot become an error
            raise ConnectionError("a response was already sent; cannot send an error")
        # The client's fault, not ours: a log line, not aiohttp's error with a traceback.
        log.info("malformed HTTP request from %s -> %s %s", request.remote, status, (message or "")[:200])
        response = error_body(status, "bad_http", f"malformed HTTP request: {(message or '')[:200]}")
        response.force_close()
        return response


class _JsonErrorsServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _JsonErrorsHandler(self, loop=self._loop, **self._kwargs)


class JsonErrorsRunner(web.AppRunner):
    """`web.AppRunner` whose connections answer unparseable requests with a JSON 4xx (`bad_http`)."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        options: dict[str, Any] = server._kwargs
        return _JsonErrorsServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=server._loop,
            **options,
        )


__all__ = ["JsonErrorsRunner"]
