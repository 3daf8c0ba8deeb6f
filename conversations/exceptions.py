"""Errors of the conversation record."""


class ConversationError(Exception):
    """Base of every conversations error."""


class UnknownConversation(ConversationError):
    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"unknown conversation {conversation_id!r}")
        self.conversation_id = conversation_id


class UnknownCustomer(ConversationError):
    def __init__(self, customer_id: str) -> None:
        super().__init__(f"unknown customer {customer_id!r}")
        self.customer_id = customer_id


class CustomerMerged(ConversationError):
    """The record was merged into another: changes go to `into`, the record it lives on as."""

    def __init__(self, customer_id: str, into: str) -> None:
        super().__init__(f"customer {customer_id!r} was merged into {into!r}")
        self.customer_id = customer_id
        self.into = into


class SameCustomer(ConversationError):
    """A merge of a customer record into itself (or into a record it already lives on as)."""

    def __init__(self, customer_id: str) -> None:
        super().__init__(f"customer {customer_id!r} cannot be merged into itself")
        self.customer_id = customer_id


class InvalidProfile(ConversationError, ValueError):
    """A change to a customer record that breaks its rules; `field` names the part, `too_long` says whether the
    problem is only its length (the HTTP edge answers 413 for that, 400 otherwise)."""

    def __init__(self, field: str, message: str, *, too_long: bool = False) -> None:
        super().__init__(f"'{field}' {message}")
        self.field = field
        self.too_long = too_long
