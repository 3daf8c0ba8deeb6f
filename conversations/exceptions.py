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
