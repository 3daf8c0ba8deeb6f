"""HTTP errors shared by both programs; the error middleware (web.http) turns each into a JSON error body."""


class BadRequest(Exception):
    """The request is malformed; the message says what is wrong, for the client."""

    status = 400

    def __init__(self, message: str, code: str = "bad_request") -> None:
        super().__init__(message)
        self.code = code


class PayloadTooLarge(BadRequest):
    status = 413

    def __init__(self, message: str) -> None:
        super().__init__(message, "too_large")


class NotAuthorised(BadRequest):
    status = 401

    def __init__(self, message: str = "missing or wrong token") -> None:
        super().__init__(message, "unauthorised")


class Forbidden(BadRequest):
    status = 403

    def __init__(self, message: str = "not allowed", code: str = "forbidden") -> None:
        super().__init__(message, code)


class NotFound(BadRequest):
    status = 404

    def __init__(self, message: str) -> None:
        super().__init__(message, "not_found")


class Conflict(BadRequest):
    """The change collides with the current state (a stale version, a taken conversation)."""

    status = 409

    def __init__(self, message: str, code: str = "conflict") -> None:
        super().__init__(message, code)


class TooManyRequests(BadRequest):
    """A rate limit is spent: the client may try again after `retry_after_s` seconds (the `Retry-After` header)."""

    status = 429

    def __init__(self, message: str, retry_after_s: int, code: str = "rate_limited") -> None:
        super().__init__(message, code)
        self.retry_after_s = retry_after_s
