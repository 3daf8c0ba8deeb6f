"""`GET /healthz`: each dependency's state; 200 only when all are ready (load balancers and the stack wait on it)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.keys import BUS, CONVERSATIONS, KB, RASA

routes = web.RouteTableDef()


@routes.get("/healthz")
async def health(request: web.Request) -> web.Response:
    app = request.app
    checks: dict[str, Any] = {"rasa": await app[RASA].health()}
    try:
        await app[CONVERSATIONS].history("conv_healthcheck", limit=1)
        checks["database"] = {"ok": True}
    except Exception as exc:
        checks["database"] = {"ok": False, "error": repr(exc)}
    kb_status = await app[KB].status()
    checks["kb"] = {"ok": bool(kb_status["ready"]), "indexed": kb_status["indexed"]}
    try:
        await app[BUS].publish("healthz", {"type": "ping"})
        checks["bus"] = {"ok": True}
    except Exception as exc:
        checks["bus"] = {"ok": False, "error": repr(exc)}
    ok = all(c.get("ok") for c in checks.values())
    return web.json_response({"ok": ok, "checks": checks}, status=200 if ok else 503)
