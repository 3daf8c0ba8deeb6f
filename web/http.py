"""HTTP helpers both programs share: JSON error bodies and the middleware that writes them, JSON request bodies,
free-text fields, and the security headers of every page. Nothing here knows a route or a domain package."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from backends.exceptions import REDIS_UNREACHABLE
from conversations.text import (
    CLIENT_MESSAGE_ID_RULE,
    InvalidText,
    TextProblem,
    checked_text,
    valid_client_message_id,
)
from web.exceptions import BadRequest, PayloadTooLarge, TooManyRequests

log = logging.getLogger(__name__)

# The largest request body an app accepts (bytes); its factory sets it from its settings.
BODY_LIMIT = web.AppKey("body_limit_bytes", int)
# How deep a JSON request may nest: ours need a handful of levels (Rasa's tracker in an action call about ten).
MAX_JSON_DEPTH = 64
# What SQL integer columns and parameters hold (PostgreSQL's bigint): a larger number is nobody's id, count or time.
INT64 = (-(2**63), 2**63 - 1)

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


# Where the JSON APIs live: their errors are JSON bodies whoever raised them.
API_PREFIX = "/api/"


def _check_request_target(request: web.Request) -> None:
    """400 `bad_query` when the path or the query string decodes to a NUL or a lone surrogate (raw bytes that are
    not UTF-8): neither can reach a store, a log line or PostgreSQL intact."""
    for text in (request.path, *request.query.keys(), *request.query.values()):
        if not _storable(text):
            raise BadRequest("the address holds a NUL or invalid Unicode", "bad_query")


def _storable(text: str) -> bool:
    """No NUL and no lone surrogate: what UTF-8, our logs and PostgreSQL's text all hold."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def error_body(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every failure becomes a clear JSON error and a log line; only our own bugs are 500s. aiohttp's own answers
    for the JSON APIs (an unknown route, a method not allowed) are JSON errors too."""
    try:
        _check_request_target(request)
        response: web.StreamResponse = await handler(request)
        return response
    except BadRequest as exc:
        log.info("%s %s -> %s %s", request.method, request.path, exc.status, exc)
        response = error_body(exc.status, exc.code, str(exc))
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except web.HTTPRequestEntityTooLarge:
        log.info("%s %s -> 413 body too large", request.method, request.path)
        return error_body(413, "too_large", "request body too large")
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith(API_PREFIX):
            raise
        log.info("%s %s -> %s %s", request.method, request.path, exc.status, exc.reason)
        response = error_body(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason)
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except REDIS_UNREACHABLE:
        # The live state (queues, presence, the console's views) is away; what is durable is in SQL and intact.
        log.warning("%s %s -> 503: Redis is unreachable", request.method, request.path)
        return error_body(503, "live_state_unavailable", "live state (Redis) is unreachable; try again shortly")
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_body(500, "internal", "internal error")


async def read_json_object(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > request.app[BODY_LIMIT]:
        raise PayloadTooLarge("request body too large")
    raw = await request.read()
    if not raw:
        return {}
    return parse_json_object(raw, "body")


def parse_json_object(raw: str | bytes, what: str) -> dict[str, Any]:
    """A JSON object from an untrusted request body or WebSocket frame (`what` names it in the message), every value
    one our stores can hold. BadRequest `bad_json` for text that is not UTF-8 or not JSON, nested deeper than
    MAX_JSON_DEPTH, not an object, or with a key that is not storable text; `bad_<key>` (the top-level key, as
    `text_field` names it) for a value holding a string with a NUL or a lone surrogate (neither survives UTF-8 or
    PostgreSQL) or an integer outside 64 bits."""
    data = _loads(raw, what)
    if not isinstance(data, dict):
        raise BadRequest(f"{what} must be a JSON object", "bad_json")
    for key, value in data.items():
        if not _storable(key):
            raise BadRequest(f"{what} has a key with a NUL or a lone surrogate", "bad_json")
        _check_value(key, value, what)
    return data


def parse_json(raw: str | bytes, what: str) -> Any:
    """Any JSON value from an untrusted source (a Socket.IO packet's data), by the rules of `parse_json_object`:
    BadRequest `bad_json` for text that is not JSON, nested too deeply, or holding a string that is not storable
    text or an integer outside 64 bits."""
    data = _loads(raw, what)
    _check_value("", data, what)
    return data


def _loads(raw: str | bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except RecursionError as exc:
        raise BadRequest(f"{what} nests too deeply", "bad_json") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"{what} is not valid JSON: {exc}", "bad_json") from exc


def _check_value(key: str, value: Any, what: str) -> None:
    """Raises BadRequest unless every string in `value` (any JSON, under the top-level `key`) is storable text and
    every integer fits 64 bits. Iterative: checking a deep document cannot itself recurse too deeply."""
    code = f"bad_{key}" if key.isidentifier() else "bad_json"
    stack: list[tuple[Any, int]] = [(value, 2)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise BadRequest(f"{what} nests deeper than {MAX_JSON_DEPTH} levels", "bad_json")
            children = item.items() if isinstance(item, dict) else enumerate(item)
            for name, child in children:
                if isinstance(name, str) and not _storable(name):
                    raise BadRequest(f"{what}: '{key[:40]}' holds a NUL or a lone surrogate", code)
                stack.append((child, depth + 1))
        elif isinstance(item, str) and not _storable(item):
            raise BadRequest(f"{what}: '{key[:40]}' holds a NUL or a lone surrogate (invalid Unicode)", code)
        elif isinstance(item, int) and not isinstance(item, bool) and not INT64[0] <= item <= INT64[1]:
            raise BadRequest(f"{what}: '{key[:40]}' holds a number beyond 64 bits", code)


def int_param(value: object, name: str, default: int | None, low: int = 0, high: int = 10**9) -> int:
    """A whole number from a query parameter or a JSON field: `default` when absent or empty (None: required);
    400 `bad_<name>` when missing but required, not a whole number, or outside low..high."""
    if value is None or value == "":
        if default is None:
            raise BadRequest(f"'{name}' is required", f"bad_{name}")
        return default
    try:
        number = int(str(value))
    except ValueError as exc:
        raise BadRequest(f"'{name}' must be a whole number", f"bad_{name}") from exc
    if not low <= number <= high:
        raise BadRequest(f"'{name}' must be between {low} and {high}", f"bad_{name}")
    return number


def client_message_id_field(data: Mapping[str, Any]) -> str | None:
    """The optional `client_message_id` of a customer's send (None when absent); 400 `bad_client_message_id` when it
    breaks the rule (`conversations.text.valid_client_message_id`)."""
    value = data.get("client_message_id")
    if value is None:
        return None
    if not valid_client_message_id(value):
        raise BadRequest(f"'client_message_id' must be {CLIENT_MESSAGE_ID_RULE}", "bad_client_message_id")
    return str(value)


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
