"""Request ids, HTTP metrics and the Prometheus `/metrics` endpoint, wired into the front door's aiohttp app.

Owns the `METRICS` app key, the telemetry middleware (outermost: it binds the request id for every log line of the
request, echoes it in `X-Request-ID`, and counts the response by route template and status) and the `/metrics`
endpoint with its protection: a bearer token when `FD_METRICS_TOKEN` is set, else loopback callers only; with
`FD_METRICS_PORT` it is served on that internal port instead of the public one. `setup_telemetry(app)` mounts it all.
Must never label a metric by a raw path or an id, and never answer `/metrics` to an unauthenticated remote caller.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import hdrs, web
from aiohttp.abc import AbstractAccessLogger

from actions.services import KnowledgeSearch
from bot.keys import SETTINGS
from kb.decision import KBResult
from observability import REQUEST_ID_HEADER, Metrics, bind_turn, correlation, new_request_id, sane_request_id

METRICS = web.AppKey("metrics", Metrics)
METRICS_PATH = "/metrics"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A request that came through a proxy on this host looks like loopback: such headers mean it is not.
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def route_label(request: web.Request) -> str:
    """The matched route's template (`/api/v1/conversations/{conversation_id}/messages`), never the raw path."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def telemetry_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = sane_request_id(request.headers.get(REQUEST_ID_HEADER)) or new_request_id()
    metrics = request.config_dict[METRICS]
    method = request.method if request.method in KNOWN_METHODS else "other"
    started = time.perf_counter()
    status = 500
    with bind_turn(request_id=request_id):
        try:
            response = await handler(request)
            status = response.status
        except web.HTTPException as exc:
            status = exc.status
            exc.headers[REQUEST_ID_HEADER] = request_id
            raise
        except asyncio.CancelledError:
            status = 499  # the client went away mid-request (nginx's code for it)
            raise
        finally:
            metrics.http_answered(method, route_label(request), status, time.perf_counter() - started)
    if not response.prepared:
        response.headers[REQUEST_ID_HEADER] = request_id
    return response


async def _echo_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """Responses a handler prepares itself (WebSockets, streams) are sent before the middleware sees them."""
    request_id = correlation().get("request_id")
    if request_id and REQUEST_ID_HEADER not in response.headers:
        response.headers[REQUEST_ID_HEADER] = request_id


class AccessLogger(AbstractAccessLogger):
    """One structured access-log line per request, with the request id the response echoed (the line is written
    after the request's context is gone). Used by `frontdoor serve` and `run`."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,  # no query string: it may hold a token (the actions webhook's)
                "status": response.status,
                "duration_ms": round(time * 1000, 1),
                "remote": request.remote or "",
                "request_id": response.headers.get(REQUEST_ID_HEADER, ""),
            },
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


def metrics_allowed(request: web.Request, token: str) -> bool:
    if token:
        scheme, _, given = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    if any(name in request.headers for name in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def metrics_handler(main: web.Application) -> Handler:
    """`GET /metrics` for the app `main` (which may be another app when served on the internal port)."""

    async def serve_metrics(request: web.Request) -> web.Response:
        if not metrics_allowed(request, main[SETTINGS].metrics_token):
            return web.json_response({"error": {"code": "forbidden", "message": "metrics are internal"}}, status=403)
        response = web.Response(body=await main[METRICS].exposition())
        response.headers[hdrs.CONTENT_TYPE] = "text/plain; version=0.0.4; charset=utf-8"
        return response

    return serve_metrics


class MeteredKnowledgeSearch:
    """The actions' `KnowledgeSearch` that times each search and counts its decision (kb/ knows nothing of it)."""

    def __init__(self, inner: KnowledgeSearch, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def search(self, query: str, language: str) -> KBResult:
        started = time.perf_counter()
        try:
            result = await self._inner.search(query, language)
        except Exception:
            self._metrics.kb_failed()
            raise
        self._metrics.kb_decided(result.decision.value, result.language or language, time.perf_counter() - started)
        return result


async def _internal_metrics_site(app: web.Application) -> AsyncIterator[None]:
    """Serves /metrics alone on FD_METRICS_HOST:FD_METRICS_PORT for the life of `app`."""
    settings = app[SETTINGS]
    internal = web.Application()
    internal.router.add_get(METRICS_PATH, metrics_handler(app))
    runner = web.AppRunner(internal, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.metrics_host, settings.metrics_port).start()
    yield
    await runner.cleanup()


def setup_telemetry(app: web.Application) -> None:
    """Outermost middleware, the response-header hook, the metrics registry and `/metrics` (here or internal)."""
    app[METRICS] = Metrics()
    app.middlewares.insert(0, telemetry_middleware)
    app.on_response_prepare.append(_echo_request_id)
    if app[SETTINGS].metrics_port:
        app.cleanup_ctx.append(_internal_metrics_site)
    else:
        app.router.add_get(METRICS_PATH, metrics_handler(app))


__all__ = ["METRICS", "AccessLogger", "MeteredKnowledgeSearch", "metrics_allowed", "route_label", "setup_telemetry"]
