"""The customer side's rate limits (`FD_LIMITS_*`): new conversations per client address, customer messages per
conversation on every channel that takes them from the open internet (chat API, its WebSocket, Socket.IO).

Counts through the app's `RATE_LIMITER` (Redis when configured). WeChat is not limited here: its messages come
signed from WeChat's servers, which throttle followers themselves.
"""

from __future__ import annotations

import logging

from aiohttp import web

from backends.rate_limits import rate_limit
from bot.keys import RATE_LIMITER
from web.exceptions import TooManyRequests

log = logging.getLogger(__name__)


async def spend(app: web.Application, setting: str, kind: str, key: str) -> int:
    """Counts one hit of `kind` for `key` against the limit `setting` (an `FD_LIMITS_*` value): 0 when it fits, else
    the seconds until one would (nothing counted)."""
    limiter, limit = app[RATE_LIMITER], rate_limit(setting)
    if await limiter.hit(limit, kind, key):
        return 0
    log.warning("rate limit: %s for %s is spent (%s)", kind, key, setting)
    return await limiter.retry_after_s(limit, kind, key)


async def within_limit(request: web.Request, setting: str, kind: str, key: str) -> None:
    """`spend`, as 429 `rate_limited` with `Retry-After` when the limit is spent."""
    retry_after_s = await spend(request.app, setting, kind, key)
    if retry_after_s:
        raise TooManyRequests(f"too many requests ({setting}); try again in {retry_after_s} s", retry_after_s)


__all__ = ["spend", "within_limit"]
