"""HTTP helpers both programs share: JSON error bodies and the middleware that writes them, JSON request bodies,
free-text fields, and the security headers of every page. Nothing here knows a route or a domain package."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from conversations.text import InvalidText, TextProblem, checked_text
from web.exceptions import BadRequest, PayloadTooLarge

log = logging.getLogger(__name__)

# The largest request body an app accepts (bytes); its factory sets it from its settings.
BODY_LIMIT = web.AppKey("body_limit_bytes", int)

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def error_body(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every failure becomes a clear JSON error and a log line; only our own bugs are 500s."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except BadRequest as exc:
        log.info("%s %s -> %s %s", request.method, request.path, exc.status, exc)
        return error_body(exc.status, exc.code, str(exc))
    except web.HTTPRequestEntityTooLarge:
        log.info("%s %s -> 413 body too large", request.method, request.path)
        return error_body(413, "too_large", "request body too large")
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_body(500, "internal", "internal error")


async def read_json_object(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > request.app[BODY_LIMIT]:
        raise PayloadTooLarge("request body too large")
    raw = await request.read()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}", "bad_json") from exc
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object", "bad_json")
    return data


def text_field(data: Mapping[str, Any], name: str, max_chars: int, *, required: bool = True) -> str:
    """Free text from a request, checked by the one rule (`conversations.text.checked_text`): 400 `bad_<name>`
    (not a string, control characters, lone surrogates), 400 `empty_<name>`, or 413 when longer than `max_chars`."""
    try:
        return checked_text(data.get(name, ""), max_chars=max_chars, required=required)
    except InvalidText as exc:
        if exc.problem is TextProblem.TOO_LONG:
            raise PayloadTooLarge(f"'{name}' {exc}") from exc
        code = "empty" if exc.problem is TextProblem.EMPTY else "bad"
        raise BadRequest(f"'{name}' {exc}", f"{code}_{name}") from exc
