"""The conversation record: customers, their channel identities, conversations and transcript messages.

Plain values only. Storage lives in conversations/store.py; nothing here touches I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Sender(StrEnum):
    """Who wrote a transcript line. `event` lines are machine records (handoff, kb, ticket) never shown as text."""

    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"
    EVENT = "event"


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Customer:
    id: str
    display_name: str = ""
    tier: str = "standard"
    email: str = ""
    phone: str = ""
    language: str = ""
    created_at: float = 0.0
    unsubscribed: bool = False


@dataclass(frozen=True)
class Conversation:
    id: str
    customer_id: str
    channel: str
    language: str
    created_at: float
    token_hash: str = ""
    external_id: str = ""
    closed_at: float | None = None


@dataclass(frozen=True)
class Message:
    id: str
    conversation_id: str
    seq: int
    sender: Sender
    text: str
    created_at: float
    sender_id: str = ""
    buttons: tuple[Button, ...] = ()
    custom: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "seq": self.seq,
            "sender": self.sender.value,
            "sender_id": self.sender_id,
            "text": self.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons],
            "custom": self.custom,
            "created_at": self.created_at,
        }
