"""A small demo order service: the shop's order system as `intake.orders.HttpOrderLookup` expects it, serving the
demo customers' orders (`intake.orders.DEMO_ORDERS`, plus the generated ones of `DemoOrderLookup`).

`frontdoor run` starts it on loopback and points `FD_INTAKE_ORDER_API_URL` at it, so the demo goes through the real
HTTP adapter end to end; the tests do the same. Must never be started by `frontdoor serve`: production talks to the
shop's own order system, or to none.

    GET /orders/{number}                                   -> 200 Order JSON | 404
    GET /orders?customer_id=…&email=…&phone=…&limit=N      -> 200 {"orders": [Order JSON, …]} (newest first)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from conversations.identity import IdentityKey, IdentityKind, email_key, phone_key
from intake.orders import ORDER_HISTORY_LIMIT, DemoOrderLookup

LOOPBACK = "127.0.0.1"
MAX_HISTORY_LIMIT = 100

_LOOKUP = web.AppKey("demo_orders", DemoOrderLookup)


async def _order(request: web.Request) -> web.Response:
    order = await request.app[_LOOKUP].lookup(request.match_info["number"])
    if order is None:
        return web.json_response({"error": "no such order"}, status=404)
    return web.json_response(order.to_dict())


async def _orders(request: web.Request) -> web.Response:
    query = request.query
    keys: list[IdentityKey] = [IdentityKey(IdentityKind.SHOP.value, v) for v in query.getall("customer_id", [])]
    keys += [k for v in query.getall("email", []) if (k := email_key(v)) is not None]
    keys += [k for v in query.getall("phone", []) if (k := phone_key(v)) is not None]
    try:
        limit = max(1, min(int(query.get("limit", str(ORDER_HISTORY_LIMIT))), MAX_HISTORY_LIMIT))
    except ValueError:
        return web.json_response({"error": "'limit' must be an integer"}, status=400)
    orders = await request.app[_LOOKUP].orders_of(keys, limit)
    return web.json_response({"orders": [o.to_dict() for o in orders]})


def demo_order_app(lookup: DemoOrderLookup | None = None) -> web.Application:
    app = web.Application()
    app[_LOOKUP] = lookup or DemoOrderLookup()
    app.router.add_get("/orders/{number}", _order)
    app.router.add_get("/orders", _orders)
    return app


@contextlib.asynccontextmanager
async def demo_order_service(host: str = LOOPBACK, port: int = 0) -> AsyncIterator[str]:
    """Serves the demo orders on `host` (a free port unless `port` is given) while the block runs; yields the base
    URL to put in `FD_INTAKE_ORDER_API_URL`."""
    runner = web.AppRunner(demo_order_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        await runner.cleanup()


__all__ = ["demo_order_app", "demo_order_service"]
