"""The request limits both programs enforce (`FD_LIMITS_*`) and the client address they are counted for.

Owns `RateLimitConfig` (staff login failures per account and per address, new conversations per address, customer
messages per conversation, and how many proxies stand in front) and `client_address`. The counting itself is
`backends.rate_limits.RateLimiter`; handlers name what they count.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

from aiohttp import web
from pydantic import AfterValidator, Field

from backends.rate_limits import rate_limit
from backends.settings import EnvSettings


def _limit(value: str) -> str:
    try:
        rate_limit(value)
    except ValueError as exc:
        raise ValueError("wants a limit such as 5/15 minutes, 30/minute or 100 per hour") from exc
    return value


Limit = Annotated[str, AfterValidator(_limit)]


class RateLimitConfig(EnvSettings):
    """Moving-window limits (`N/period`, e.g. `5/15 minutes`), shared through Redis when `FD_REDIS_URL` is set."""

    model_config = EnvSettings.config("FD_LIMITS_")
    doc_title = "Rate limits (`web/rate_limits.py`)"

    login_failures_per_account: Limit = Field(
        "5/15 minutes",
        description="Failed staff logins one username may take; then it is locked (429 with `Retry-After`) until the "
        "oldest failure leaves the window. A successful login clears only its own account's count.",
    )
    login_failures_per_address: Limit = Field(
        "20/15 minutes", description="Failed staff logins from one client address, whatever the usernames."
    )
    conversations_per_address: Limit = Field(
        "600/minute",
        description="New chat conversations one client address may start. Generous on purpose: mobile carriers put "
        "thousands of customers behind one address (carrier-grade NAT), and a whole office shares one too.",
    )
    messages_per_conversation: Limit = Field(
        "30/minute",
        description="Customer messages one conversation may send (chat API, its WebSocket and Socket.IO together; "
        "rasa-webchat has no error to show, so a Socket.IO message past the limit is dropped and logged).",
    )
    proxy_hops: int = Field(
        0,
        ge=0,
        le=10,
        description="Reverse proxies in front that append to `X-Forwarded-For`: the client address is that many "
        "entries from its end. `0`: the peer's own address (never trust the header when nothing sets it).",
    )


def client_address(request: web.Request, proxy_hops: int) -> str:
    """The address a limit counts: the TCP peer, or with `proxy_hops` the `X-Forwarded-For` entry the nearest trusted
    proxy saw (a client can prepend entries, never append them). Never raises: a header too short or not an address
    falls back to the peer."""
    peer = request.remote or ""
    if proxy_hops:
        hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",") if h.strip()]
        if len(hops) >= proxy_hops:
            candidate = hops[-proxy_hops]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                return peer
    return peer


__all__ = ["RateLimitConfig", "client_address"]
