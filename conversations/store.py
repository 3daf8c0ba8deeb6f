"""The system of record for customers, their channel identities, conversations and transcripts.

One SQL implementation serves SQLite and PostgreSQL (portable SQL through `backends.sql`). Every message the
customer, the bot or an agent writes is appended here before anything else happens to it, so nothing accepted is
ever lost. This module must never decide who answers a conversation: that is handoff's job.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from backends.sql import SQL, Database, Row
from conversations.exceptions import UnknownConversation, UnknownCustomer
from conversations.models import Button, Conversation, Customer, Message, Sender

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS customers (
        id TEXT PRIMARY KEY, display_name TEXT NOT NULL DEFAULT '', tier TEXT NOT NULL DEFAULT 'standard',
        email TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL DEFAULT '', language TEXT NOT NULL DEFAULT '',
        created_at DOUBLE PRECISION NOT NULL, unsubscribed INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS identities (
        channel TEXT NOT NULL, external_id TEXT NOT NULL, customer_id TEXT NOT NULL REFERENCES customers(id),
        created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (channel, external_id))""",
    "CREATE INDEX IF NOT EXISTS identities_customer ON identities (customer_id)",
    """CREATE TABLE IF NOT EXISTS conversations (
        id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customers(id), channel TEXT NOT NULL,
        language TEXT NOT NULL DEFAULT '', external_id TEXT NOT NULL DEFAULT '', token_hash TEXT NOT NULL DEFAULT '',
        created_at DOUBLE PRECISION NOT NULL, closed_at DOUBLE PRECISION, last_customer_at DOUBLE PRECISION,
        next_seq BIGINT NOT NULL DEFAULT 0)""",
    "CREATE INDEX IF NOT EXISTS conversations_customer ON conversations (customer_id, created_at)",
    """CREATE TABLE IF NOT EXISTS messages (
        id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL REFERENCES conversations(id), seq BIGINT NOT NULL,
        sender TEXT NOT NULL, sender_id TEXT NOT NULL DEFAULT '', text TEXT NOT NULL DEFAULT '',
        buttons TEXT NOT NULL DEFAULT '[]', custom TEXT NOT NULL DEFAULT '{}', created_at DOUBLE PRECISION NOT NULL,
        UNIQUE (conversation_id, seq))""",
)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


@dataclass(frozen=True)
class MessageDraft:
    """A message before the transcript gives it an id and a place (seq)."""

    sender: Sender
    text: str = ""
    sender_id: str = ""
    buttons: tuple[Button, ...] = ()
    custom: dict[str, Any] = field(default_factory=dict)


def _customer(row: Row) -> Customer:
    return Customer(
        id=row["id"],
        display_name=row["display_name"],
        tier=row["tier"],
        email=row["email"],
        phone=row["phone"],
        language=row["language"],
        created_at=row["created_at"],
        unsubscribed=bool(row["unsubscribed"]),
    )


def _conversation(row: Row) -> Conversation:
    return Conversation(
        id=row["id"],
        customer_id=row["customer_id"],
        channel=row["channel"],
        language=row["language"],
        created_at=row["created_at"],
        token_hash=row["token_hash"],
        external_id=row["external_id"],
        closed_at=row["closed_at"],
    )


def _message(row: Row) -> Message:
    return Message(
        id=row["id"],
        conversation_id=row["conversation_id"],
        seq=int(row["seq"]),
        sender=Sender(row["sender"]),
        sender_id=row["sender_id"],
        text=row["text"],
        buttons=tuple(Button(**b) for b in json.loads(row["buttons"])),
        custom=json.loads(row["custom"]),
        created_at=row["created_at"],
    )


class ConversationStore:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def migrate(self) -> None:
        await self._db.migrate(SCHEMA)

    # Customers and identities

    async def customer_for_identity(self, channel: str, external_id: str, language: str = "") -> tuple[Customer, bool]:
        """The customer behind a channel identity, created on first sight. The flag says whether they returned."""
        async with self._db.transaction() as tx:
            row = await tx.fetchrow(
                "SELECT c.* FROM customers c JOIN identities i ON i.customer_id = c.id"
                " WHERE i.channel = $1 AND i.external_id = $2",
                channel,
                external_id,
            )
            if row is not None:
                return _customer(row), True
            now = self._clock()
            customer = Customer(id=new_id("cus"), language=language, created_at=now)
            await tx.execute(
                "INSERT INTO customers (id, language, created_at) VALUES ($1, $2, $3)", customer.id, language, now
            )
            await tx.execute(
                "INSERT INTO identities (channel, external_id, customer_id, created_at) VALUES ($1, $2, $3, $4)",
                channel,
                external_id,
                customer.id,
                now,
            )
            return customer, False

    async def get_customer(self, customer_id: str) -> Customer:
        row = await self._db.fetchrow("SELECT * FROM customers WHERE id = $1", customer_id)
        if row is None:
            raise UnknownCustomer(customer_id)
        return _customer(row)

    async def mark_unsubscribed(self, customer_id: str, unsubscribed: bool = True) -> None:
        await self._db.execute("UPDATE customers SET unsubscribed = $2 WHERE id = $1", customer_id, int(unsubscribed))

    # Conversations

    async def create_conversation(
        self, customer_id: str, channel: str, language: str = "", external_id: str = "", token_hash: str = ""
    ) -> Conversation:
        conversation = Conversation(
            id=new_id("conv"),
            customer_id=customer_id,
            channel=channel,
            language=language,
            created_at=self._clock(),
            token_hash=token_hash,
            external_id=external_id,
        )
        await self._db.execute(
            "INSERT INTO conversations (id, customer_id, channel, language, external_id, token_hash, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            conversation.id,
            customer_id,
            channel,
            language,
            external_id,
            token_hash,
            conversation.created_at,
        )
        return conversation

    async def get_conversation(self, conversation_id: str) -> Conversation:
        row = await self._db.fetchrow("SELECT * FROM conversations WHERE id = $1", conversation_id)
        if row is None:
            raise UnknownConversation(conversation_id)
        return _conversation(row)

    async def open_conversation_for(
        self, customer_id: str, channel: str, idle_close_s: float | None = None
    ) -> Conversation | None:
        """The customer's latest conversation on a channel that is still open (WeChat has one thread per OpenID).

        With `idle_close_s`, one whose customer has been silent that long (since their last message, or since it was
        opened) is closed instead, and None says to open a new one.
        """
        row = await self._db.fetchrow(
            "SELECT * FROM conversations WHERE customer_id = $1 AND channel = $2 AND closed_at IS NULL"
            " ORDER BY created_at DESC LIMIT 1",
            customer_id,
            channel,
        )
        if row is None:
            return None
        last_active = row["last_customer_at"] if row["last_customer_at"] is not None else row["created_at"]
        if idle_close_s is not None and self._clock() - float(last_active) >= idle_close_s:
            await self.close_conversation(row["id"])
            return None
        return _conversation(row)

    async def conversations_of(self, customer_id: str, limit: int = 50) -> list[Conversation]:
        rows = await self._db.fetch(
            "SELECT * FROM conversations WHERE customer_id = $1 ORDER BY created_at DESC LIMIT $2", customer_id, limit
        )
        return [_conversation(row) for row in rows]

    async def set_language(self, conversation_id: str, language: str) -> None:
        await self._db.execute("UPDATE conversations SET language = $2 WHERE id = $1", conversation_id, language)

    async def close_conversation(self, conversation_id: str) -> None:
        await self._db.execute(
            "UPDATE conversations SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL",
            conversation_id,
            self._clock(),
        )

    # Transcript

    async def append(self, conversation_id: str, drafts: Sequence[MessageDraft]) -> list[Message]:
        """Appends messages in order, atomically; each gets the next seq of its conversation."""
        if not drafts:
            return []
        now = self._clock()
        async with self._db.transaction() as tx:
            last = await tx.fetchval(
                "UPDATE conversations SET next_seq = next_seq + $2 WHERE id = $1 RETURNING next_seq",
                conversation_id,
                len(drafts),
            )
            if last is None:
                raise UnknownConversation(conversation_id)
            first = int(last) - len(drafts) + 1
            messages = [
                Message(
                    id=new_id("msg"),
                    conversation_id=conversation_id,
                    seq=first + i,
                    sender=draft.sender,
                    sender_id=draft.sender_id,
                    text=draft.text,
                    buttons=draft.buttons,
                    custom=draft.custom,
                    created_at=now,
                )
                for i, draft in enumerate(drafts)
            ]
            for message in messages:
                await _insert_message(tx, message)
            if any(d.sender is Sender.CUSTOMER for d in drafts):
                await tx.execute("UPDATE conversations SET last_customer_at = $2 WHERE id = $1", conversation_id, now)
        return messages

    async def history(self, conversation_id: str, after_seq: int = 0, limit: int = 500) -> list[Message]:
        rows = await self._db.fetch(
            "SELECT * FROM messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            conversation_id,
            after_seq,
            limit,
        )
        return [_message(row) for row in rows]

    async def recent(self, conversation_id: str, limit: int) -> list[Message]:
        """The last `limit` messages, oldest first."""
        rows = await self._db.fetch(
            "SELECT * FROM messages WHERE conversation_id = $1 ORDER BY seq DESC LIMIT $2", conversation_id, limit
        )
        return [_message(row) for row in reversed(rows)]

    async def last_customer_message_at(self, conversation_id: str) -> float | None:
        value = await self._db.fetchval("SELECT last_customer_at FROM conversations WHERE id = $1", conversation_id)
        return float(value) if value is not None else None


async def _insert_message(tx: SQL, message: Message) -> None:
    await tx.execute(
        "INSERT INTO messages (id, conversation_id, seq, sender, sender_id, text, buttons, custom, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        message.id,
        message.conversation_id,
        message.seq,
        message.sender.value,
        message.sender_id,
        message.text,
        json.dumps([{"title": b.title, "payload": b.payload} for b in message.buttons], ensure_ascii=False),
        json.dumps(message.custom, ensure_ascii=False),
        message.created_at,
    )
