"""`create_app(settings)`: the two programs over one set of services — the customer-facing front door (`bot`) and the
staff back office (`staff`) — in one process (the default), or either alone behind a load balancer."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path

from aiohttp import web

from bot.app import setup_customer_routes, setup_services
from bot.settings import Settings
from staff.app import setup_staff
from web.http import SECURITY_HEADERS, error_middleware

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
    return app


async def _favicon(_request: web.Request) -> web.StreamResponse:
    """Browsers ask every page's host for /favicon.ico; an SVG answers it (all current browsers draw one)."""
    headers = {**SECURITY_HEADERS, "Content-Type": "image/svg+xml", "Cache-Control": "public, max-age=86400"}
    return web.FileResponse(FAVICON, headers=headers)


__all__ = ["ALL_PROGRAMS", "Program", "create_app"]
