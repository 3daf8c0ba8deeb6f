"""Errors of the customer-facing front door (HTTP errors live in web.exceptions)."""


class FrontDoorError(Exception):
    """Base of every front-door error."""


class BotUnavailable(FrontDoorError):
    """Rasa did not answer in time or answered nonsense; the pipeline hands the customer to a human."""
