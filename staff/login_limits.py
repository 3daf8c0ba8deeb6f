"""Brute-force protection of the staff login: failed attempts counted per username and per client address.

A username or an address whose failures fill their window (`FD_LIMITS_LOGIN_FAILURES_PER_*`) is locked out until
the oldest failure leaves it: its attempts are refused before any password is checked, so a lucky guess during a
lockout learns nothing. A successful login clears only its own username's count, never the address's (an attacker
logging into their own account must not reset the count of the names they try) nor anyone else's. Counted in Redis
when configured, so every replica sees the same failures. Must never see a password.
"""

from __future__ import annotations

from dataclasses import dataclass

from backends.rate_limits import RateLimiter, rate_limit
from web.rate_limits import RateLimitConfig

_ACCOUNT = "login-account"
_ADDRESS = "login-address"
# Longer names are cut: a failure is still counted, under its first characters.
_MAX_KEY_CHARS = 128


@dataclass(frozen=True)
class LoginGuard:
    limiter: RateLimiter
    config: RateLimitConfig

    async def locked_for_s(self, username: str, address: str) -> int:
        """0 when an attempt may be checked, else the seconds until the username or the address may try again."""
        waits = []
        for kind, key, setting in self._counts(username, address):
            limit = rate_limit(setting)
            if not await self.limiter.allows(limit, kind, key):
                waits.append(await self.limiter.retry_after_s(limit, kind, key))
        return max(waits, default=0)

    async def failed(self, username: str, address: str) -> None:
        for kind, key, setting in self._counts(username, address):
            await self.limiter.hit(rate_limit(setting), kind, key)

    async def succeeded(self, username: str) -> None:
        await self.limiter.clear(rate_limit(self.config.login_failures_per_account), _ACCOUNT, _key(username))

    def _counts(self, username: str, address: str) -> list[tuple[str, str, str]]:
        return [
            (_ACCOUNT, _key(username), self.config.login_failures_per_account),
            (_ADDRESS, address, self.config.login_failures_per_address),
        ]


def _key(username: str) -> str:
    # Case-folded: `Ann` and `ann` share a count, whichever of them exists.
    return username[:_MAX_KEY_CHARS].casefold()


__all__ = ["LoginGuard"]
