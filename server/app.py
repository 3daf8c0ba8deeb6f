"""`create_app(settings)`: the two programs over one set of services — the customer-facing front door (`bot`) and the
staff back office (`staff`) — in one process (the default), or either alone behind a load balancer."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from importlib.metadata import version
from pathlib import Path

from aiohttp import web

from bot.app import setup_customer_routes, setup_services
from bot.settings import Settings
from staff.app import setup_staff
from web.http import SECURITY_HEADERS, error_middleware
from web.openapi import OPENAPI_PATH, PUBLIC, documented, openapi_document

FAVICON = Path(__file__).parent / "static" / "favicon.svg"


class Program(StrEnum):
    CUSTOMERS = "customers"
    STAFF = "staff"


ALL_PROGRAMS = frozenset(Program)


def create_app(settings: Settings, programs: Iterable[Program] = ALL_PROGRAMS) -> web.Application:
    """An application serving `programs`; both need the same services (storage, bus, Rasa, handoff, KB)."""
    chosen = frozenset(programs)
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[error_middleware])
    setup_services(app, settings)
    if Program.CUSTOMERS in chosen:
        setup_customer_routes(app, settings)
    if Program.STAFF in chosen:
        setup_staff(app)
    app.router.add_get("/favicon.ico", _favicon)
    app.router.add_get(OPENAPI_PATH, _openapi)
    return app


@documented(PUBLIC, "This OpenAPI description")
async def _openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 description of the JSON APIs this process serves (with `--only`, its program's alone).

    Public on purpose: it describes paths and field shapes the pages' scripts already show anyone, and no data or
    secret; every operation checks its caller itself (customer token, staff session and role, CSRF token)."""
    document = openapi_document(request.app, "frontdoor", version("frontdoor"))
    return web.json_response(document, headers={"Cache-Control": "no-store"})


async def _favicon(_request: web.Request) -> web.StreamResponse:
    """Browsers ask every page's host for /favicon.ico; an SVG answers it (all current browsers draw one)."""
    headers = {**SECURITY_HEADERS, "Content-Type": "image/svg+xml", "Cache-Control": "public, max-age=86400"}
    return web.FileResponse(FAVICON, headers=headers)


__all__ = ["ALL_PROGRAMS", "Program", "create_app"]
