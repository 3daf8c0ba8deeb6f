"""The system of record for customers, their channel identities, conversations and transcripts.

One SQL implementation serves SQLite and PostgreSQL (SQLAlchemy Core over `conversations.tables`). Every message the
customer, the bot or an agent writes is appended here before anything else happens to it, so nothing accepted is
ever lost. A conversation's opening and closing are facts of the service record (`conversation_opened`,
`conversation_closed`), sent to the store's `recorder` once the row is written. This module must never decide who
answers a conversation: that is handoff's job.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update

from backends.sql import SQL, Database, Row
from conversations.exceptions import UnknownConversation, UnknownCustomer
from conversations.models import Button, Conversation, Customer, Message, Sender
from conversations.tables import conversations, customers, identities, messages
from record import CUSTOMER, SYSTEM, Recorder, ServiceEvent, ServiceEventKind


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
    # A customer message's id from its sender (see `ConversationStore.append_once`); "" for none.
    client_message_id: str = ""


def customer_of(row: Row) -> Customer:
    """A `customers` row as a Customer (conversations/customers.py reads rows with it too)."""
    return Customer(
        id=row["id"],
        display_name=row["display_name"],
        tier=row["tier"],
        email=row["email"],
        phone=row["phone"],
        language=row["language"],
        created_at=row["created_at"],
        unsubscribed=bool(row["unsubscribed"]),
        tags=tuple(json.loads(row["tags"] or "[]")),
        preferences=json.loads(row["preferences"] or "{}"),
        merged_into=row["merged_into"],
        updated_at=row["updated_at"],
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
        client_message_id=row["client_message_id"] or "",
    )


class _AlreadyStored(Exception):
    """Rolls `append_once`'s transaction back (its seq increment with it) when the message is already there."""

    def __init__(self, message: Message) -> None:
        self.message = message


class ConversationStore:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time, recorder: Recorder | None = None) -> None:
        self._db = db
        self._clock = clock
        # Set by the app's record context once its writer runs (the store is made before it, with storage).
        self.recorder = recorder

    # Customers and identities

    async def customer_for_identity(self, channel: str, external_id: str, language: str = "") -> tuple[Customer, bool]:
        """The customer behind a channel identity, created on first sight. The flag says whether they returned.

        A merge moves identities to the surviving record; one read while a merge commits may still see the merged
        one, so its `merged_into` is followed."""
        async with self._db.transaction() as tx:
            row = await tx.fetchrow(
                select(customers)
                .join(identities, identities.c.customer_id == customers.c.id)
                .where(identities.c.channel == channel, identities.c.external_id == external_id)
            )
            if row is not None and row["merged_into"]:
                row = await tx.fetchrow(select(customers).where(customers.c.id == row["merged_into"])) or row
            if row is not None:
                return customer_of(row), True
            now = self._clock()
            customer = Customer(id=new_id("cus"), language=language, created_at=now)
            await tx.execute(insert(customers).values(id=customer.id, language=language, created_at=now))
            await tx.execute(
                insert(identities).values(
                    channel=channel, external_id=external_id, customer_id=customer.id, created_at=now
                )
            )
            return customer, False

    async def get_customer(self, customer_id: str) -> Customer:
        """The customer record; for one merged into another, the one it lives on as (merges keep `merged_into`
        pointing at a surviving record, so this is one hop). Raises UnknownCustomer."""
        row = await self._db.fetchrow(select(customers).where(customers.c.id == customer_id))
        if row is not None and row["merged_into"]:
            row = await self._db.fetchrow(select(customers).where(customers.c.id == row["merged_into"]))
        if row is None:
            raise UnknownCustomer(customer_id)
        return customer_of(row)

    async def mark_unsubscribed(self, customer_id: str, unsubscribed: bool = True) -> None:
        await self._db.execute(
            update(customers).where(customers.c.id == customer_id).values(unsubscribed=int(unsubscribed))
        )

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
            insert(conversations).values(
                id=conversation.id,
                customer_id=customer_id,
                channel=channel,
                language=language,
                external_id=external_id,
                token_hash=token_hash,
                created_at=conversation.created_at,
            )
        )
        if self.recorder is not None:
            self.recorder.emit(
                ServiceEvent(
                    kind=ServiceEventKind.CONVERSATION_OPENED,
                    at=conversation.created_at,
                    actor=CUSTOMER,
                    conversation_id=conversation.id,
                    customer_id=customer_id,
                    channel=channel,
                    language=language,
                )
            )
        return conversation

    async def get_conversation(self, conversation_id: str) -> Conversation:
        row = await self._db.fetchrow(select(conversations).where(conversations.c.id == conversation_id))
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
            select(conversations)
            .where(
                conversations.c.customer_id == customer_id,
                conversations.c.channel == channel,
                conversations.c.closed_at.is_(None),
            )
            .order_by(conversations.c.created_at.desc())
            .limit(1)
        )
        if row is None:
            return None
        last_active = row["last_customer_at"] if row["last_customer_at"] is not None else row["created_at"]
        if idle_close_s is not None and self._clock() - float(last_active) >= idle_close_s:
            await self.close_conversation(row["id"], cause="idle")
            return None
        return _conversation(row)

    async def conversations_of(self, customer_id: str, limit: int = 50) -> list[Conversation]:
        rows = await self._db.fetch(
            select(conversations)
            .where(conversations.c.customer_id == customer_id)
            .order_by(conversations.c.created_at.desc())
            .limit(limit)
        )
        return [_conversation(row) for row in rows]

    async def set_language(self, conversation_id: str, language: str) -> None:
        await self._db.execute(
            update(conversations).where(conversations.c.id == conversation_id).values(language=language)
        )

    async def close_conversation(self, conversation_id: str, cause: str = "customer") -> None:
        """Marks the conversation closed, once; `cause` is "customer" (they closed the chat) or "idle" (silent past
        the channel's limit)."""
        now = self._clock()
        row = await self._db.fetchrow(
            update(conversations)
            .where(conversations.c.id == conversation_id, conversations.c.closed_at.is_(None))
            .values(closed_at=now)
            .returning(
                conversations.c.customer_id,
                conversations.c.channel,
                conversations.c.language,
                conversations.c.created_at,
                conversations.c.last_customer_at,
            )
        )
        if row is None or self.recorder is None:
            return
        self.recorder.emit(
            ServiceEvent(
                kind=ServiceEventKind.CONVERSATION_CLOSED,
                at=now,
                actor=CUSTOMER if cause == "customer" else SYSTEM,
                conversation_id=conversation_id,
                customer_id=row["customer_id"],
                channel=row["channel"],
                language=row["language"],
                data={"cause": cause, "opened_at": row["created_at"], "last_customer_at": row["last_customer_at"]},
            )
        )

    # Transcript

    async def append(self, conversation_id: str, drafts: Sequence[MessageDraft]) -> list[Message]:
        """Appends messages in order, atomically; each gets the next seq of its conversation."""
        if not drafts:
            return []
        return await self._append(conversation_id, drafts, once=False)

    async def _append(self, conversation_id: str, drafts: Sequence[MessageDraft], *, once: bool) -> list[Message]:
        now = self._clock()
        async with self._db.transaction() as tx:
            last = await tx.fetchval(
                update(conversations)
                .where(conversations.c.id == conversation_id)
                .values(next_seq=conversations.c.next_seq + len(drafts))
                .returning(conversations.c.next_seq)
            )
            if last is None:
                raise UnknownConversation(conversation_id)
            if once:
                row = await tx.fetchrow(
                    select(messages).where(
                        messages.c.conversation_id == conversation_id,
                        messages.c.client_message_id == drafts[0].client_message_id,
                    )
                )
                if row is not None:
                    raise _AlreadyStored(_message(row))
            first = int(last) - len(drafts) + 1
            messages_ = [
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
                    client_message_id=draft.client_message_id,
                )
                for i, draft in enumerate(drafts)
            ]
            for message in messages_:
                await _insert_message(tx, message)
            if any(d.sender is Sender.CUSTOMER for d in drafts):
                await tx.execute(
                    update(conversations).where(conversations.c.id == conversation_id).values(last_customer_at=now)
                )
        return messages_

    async def append_once(self, conversation_id: str, draft: MessageDraft) -> tuple[Message, bool]:
        """Appends one message carrying a `client_message_id` unless the conversation already holds one with that id:
        (the stored message, True when it was stored now). A retry of a send (a timeout, a reconnect, a crash between
        the store and the reply) so never stores it twice. The conversation's row, locked by the seq increment,
        orders concurrent sends of one id; the unique index on (conversation_id, client_message_id) is the backstop.

        Raises ValueError without a client_message_id, UnknownConversation."""
        if not draft.client_message_id:
            raise ValueError("append_once needs a client_message_id")
        try:
            (message,) = await self._append(conversation_id, [draft], once=True)
        except _AlreadyStored as stored:
            return stored.message, False
        return message, True

    async def by_client_message_id(self, conversation_id: str, client_message_id: str) -> Message | None:
        row = await self._db.fetchrow(
            select(messages).where(
                messages.c.conversation_id == conversation_id, messages.c.client_message_id == client_message_id
            )
        )
        return _message(row) if row is not None else None

    async def history(self, conversation_id: str, after_seq: int = 0, limit: int = 500) -> list[Message]:
        rows = await self._db.fetch(
            select(messages)
            .where(messages.c.conversation_id == conversation_id, messages.c.seq > after_seq)
            .order_by(messages.c.seq)
            .limit(limit)
        )
        return [_message(row) for row in rows]

    async def recent(self, conversation_id: str, limit: int) -> list[Message]:
        """The last `limit` messages, oldest first."""
        rows = await self._db.fetch(
            select(messages)
            .where(messages.c.conversation_id == conversation_id)
            .order_by(messages.c.seq.desc())
            .limit(limit)
        )
        return [_message(row) for row in reversed(rows)]

    async def last_customer_message_at(self, conversation_id: str) -> float | None:
        value = await self._db.fetchval(
            select(conversations.c.last_customer_at).where(conversations.c.id == conversation_id)
        )
        return float(value) if value is not None else None


async def _insert_message(tx: SQL, message: Message) -> None:
    await tx.execute(
        insert(messages).values(
            id=message.id,
            conversation_id=message.conversation_id,
            seq=message.seq,
            sender=message.sender.value,
            sender_id=message.sender_id,
            text=message.text,
            buttons=json.dumps([{"title": b.title, "payload": b.payload} for b in message.buttons], ensure_ascii=False),
            custom=json.dumps(message.custom, ensure_ascii=False),
            created_at=message.created_at,
            client_message_id=message.client_message_id or None,
        )
    )
