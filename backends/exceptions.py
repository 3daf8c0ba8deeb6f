"""Errors raised by the storage and bus backends."""


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
