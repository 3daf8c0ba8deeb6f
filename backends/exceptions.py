"""Errors raised by the storage and bus backends."""


class BackendError(Exception):
    """Base of every backends error."""


class UnsupportedDatabaseURL(BackendError):
    def __init__(self, url: str) -> None:
        super().__init__(f"unsupported database URL scheme: {url.split(':', 1)[0]!r} (use sqlite:// or postgresql://)")
