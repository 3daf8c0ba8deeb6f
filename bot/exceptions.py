"""Errors of the front door; handlers map them to HTTP statuses."""


class FrontDoorError(Exception):
    """Base of every front-door error."""


class BotUnavailable(FrontDoorError):
    """Rasa did not answer in time or answered nonsense; the pipeline hands the customer to a human."""


class BadRequest(FrontDoorError):
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

    def __init__(self, message: str = "not allowed") -> None:
        super().__init__(message, "forbidden")


class Conflict(BadRequest):
    """Someone else changed it first (a lost claim, a stale FAQ version, a transfer target that is full)."""

    status = 409

    def __init__(self, message: str, code: str = "conflict") -> None:
        super().__init__(message, code)


class NotFound(BadRequest):
    status = 404

    def __init__(self, message: str) -> None:
        super().__init__(message, "not_found")
