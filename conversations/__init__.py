"""Customers, their identities across channels, conversations and the transcript: the system of record."""

from conversations.customers import CustomerMover, CustomerRecords, LinkOutcome
from conversations.exceptions import (
    ConversationError,
    CustomerMerged,
    InvalidProfile,
    SameCustomer,
    UnknownConversation,
    UnknownCustomer,
)
from conversations.identity import IdentityKey, IdentityKind, contact_key, email_key, identity_key, phone_key
from conversations.models import (
    Button,
    Conversation,
    Customer,
    CustomerMerge,
    Identity,
    IdentitySource,
    MergeReason,
    Message,
    Sender,
    Tier,
)
from conversations.profile import ProfileChanges, checked_changes
from conversations.store import ConversationStore, MessageDraft, new_id

__all__ = [
    "Button",
    "Conversation",
    "ConversationError",
    "ConversationStore",
    "Customer",
    "CustomerMerge",
    "CustomerMerged",
    "CustomerMover",
    "CustomerRecords",
    "Identity",
    "IdentityKey",
    "IdentityKind",
    "IdentitySource",
    "InvalidProfile",
    "LinkOutcome",
    "MergeReason",
    "Message",
    "MessageDraft",
    "ProfileChanges",
    "SameCustomer",
    "Sender",
    "Tier",
    "UnknownConversation",
    "UnknownCustomer",
    "checked_changes",
    "contact_key",
    "email_key",
    "identity_key",
    "new_id",
    "phone_key",
]
