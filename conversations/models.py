"""The conversation record: customers, their channel identities, conversations and transcript messages.

Plain values only. Storage lives in conversations/store.py; nothing here touches I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
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


class Tier(StrEnum):
    """A customer's value to the shop, which agents set: it raises ticket priority (intake's `tier_bumps`), moves a
    waiting chat ahead (handoff's head start) and may send it to a dedicated skill (handoff's VIP queue). The values
    are stored in customer rows and ownership records: change none."""

    STANDARD = "standard"
    SILVER = "silver"
    GOLD = "gold"
    VIP = "vip"

    @property
    def rank(self) -> int:
        """Higher is worth more: STANDARD 0, SILVER 1, GOLD 2, VIP 3."""
        return list(Tier).index(self)

    @classmethod
    def parse(cls, value: str | Tier | None) -> Tier:
        """Case-insensitive; an unknown or missing tier reads as standard rather than failing a customer's turn."""
        if isinstance(value, Tier):
            return value
        try:
            return cls((value or "standard").strip().lower())
        except ValueError:
            return cls.STANDARD


@dataclass(frozen=True)
class Customer:
    """One customer record. `merged_into` is set on a record an agent or a proof merged into another: its
    identities, conversations and tickets moved there, and reads by its id resolve to that one."""

    id: str
    display_name: str = ""
    tier: str = "standard"
    email: str = ""
    phone: str = ""
    language: str = ""
    created_at: float = 0.0
    unsubscribed: bool = False
    tags: tuple[str, ...] = ()
    preferences: Mapping[str, str] = field(default_factory=dict)
    merged_into: str | None = None
    updated_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "display_name": self.display_name,
            "tier": self.tier,
            "email": self.email,
            "phone": self.phone,
            "language": self.language,
            "created_at": self.created_at,
            "unsubscribed": self.unsubscribed,
            "tags": list(self.tags),
            "preferences": dict(self.preferences),
            "merged_into": self.merged_into,
            "updated_at": self.updated_at,
        }


class IdentitySource(StrEnum):
    """How an identity came to a record: first sight on a channel, a proof, an agent, or a merge."""

    CHANNEL = "channel"
    PROOF = "proof"  # the customer gave an order number and the phone or email on that order
    AGENT = "agent"
    WECHAT = "wechat"  # WeChat itself told us (a UnionID)


@dataclass(frozen=True)
class Identity:
    """One key of a customer record (see conversations/identity.py). `detail` says how it was proven (the order
    number, which contact matched) or who added it; `verified_at` is None for a channel's own identity."""

    kind: str
    value: str
    customer_id: str
    created_at: float
    source: IdentitySource = IdentitySource.CHANNEL
    verified_at: float | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "value": self.value,
            "customer_id": self.customer_id,
            "created_at": self.created_at,
            "source": self.source.value,
            "verified_at": self.verified_at,
            "detail": dict(self.detail),
        }


class MergeReason(StrEnum):
    """Why two customer records became one. Stable codes, stored in `customer_merges` and shown as words."""

    AGENT = "agent"  # an agent judged them the same person
    ORDER_PROOF = "order_proof"  # both proved the same phone or email with the same order system
    WECHAT_UNION = "wechat_union"  # WeChat gave both the same UnionID


@dataclass(frozen=True)
class CustomerMerge:
    """The record of one merge: `source_id` moved into `target_id`, by `actor` ("system" for a proof) for
    `reason`, with `detail` (the agent's note; the identity and order that proved it) and `moved` (counts of
    identities, conversations and tickets moved)."""

    id: str
    source_id: str
    target_id: str
    actor: str
    reason: MergeReason
    detail: Mapping[str, Any]
    moved: Mapping[str, int]
    at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source_id": self.source_id,
            "target_id": self.target_id,
            "actor": self.actor,
            "reason": self.reason.value,
            "detail": dict(self.detail),
            "moved": dict(self.moved),
            "at": self.at,
        }


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
    client_message_id: str = ""  # a customer message's id from its sender; "" when none was given

    def to_dict(self) -> dict[str, Any]:
        """The message as JSON; `client_message_id` only when there is one (a client's retry matches on it)."""
        extra = {"client_message_id": self.client_message_id} if self.client_message_id else {}
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
        } | extra
