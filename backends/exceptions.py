"""Errors raised by the storage and bus backends, and the ones that say Redis cannot be reached."""

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# What a call to Redis raises while Redis is down or unreachable (redis-py wraps socket errors in these; a bug such
# as a script error is something else): callers that can degrade (the bus, handoff's live state) catch exactly these,
# and the HTTP edge answers them with 503.
REDIS_UNREACHABLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)


class BackendError(Exception):
    """Base of every backends error."""


class UnsupportedDatabaseURL(BackendError):
    def __init__(self, url: str) -> None:
        super().__init__(f"unsupported database URL scheme: {url.split(':', 1)[0]!r} (use sqlite:// or postgresql://)")


class InvalidSettings(BackendError):
    """Configuration that cannot work; `problems` has one line per bad variable, naming it and what it accepts."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)
