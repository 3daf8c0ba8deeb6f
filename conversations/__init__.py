"""Customers, their channel identities, conversations and the transcript: the system of record."""

from conversations.exceptions import ConversationError, UnknownConversation, UnknownCustomer
from conversations.models import Button, Conversation, Customer, Message, Sender
from conversations.store import ConversationStore, MessageDraft, new_id

__all__ = [
    "Button",
    "Conversation",
    "ConversationError",
    "ConversationStore",
    "Customer",
    "Message",
    "MessageDraft",
    "Sender",
    "UnknownConversation",
    "UnknownCustomer",
    "new_id",
]
