"""The conversations package's tables: customers, their identities, the merges between them, conversations and
messages.

Declared once on `backends.schema.metadata`; Alembic revisions in `migrations/versions` create and change them.
Must never hold queries: `conversations.store` does.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, Table, Text, UniqueConstraint, text
from sqlalchemy.types import DOUBLE_PRECISION

from backends.schema import metadata

customers = Table(
    "customers",
    metadata,
    Column("id", Text, primary_key=True),
    Column("display_name", Text, nullable=False, server_default=text("''")),
    Column("tier", Text, nullable=False, server_default=text("'standard'")),
    Column("email", Text, nullable=False, server_default=text("''")),
    Column("phone", Text, nullable=False, server_default=text("''")),
    Column("language", Text, nullable=False, server_default=text("''")),
    Column("created_at", DOUBLE_PRECISION, nullable=False),
    Column("unsubscribed", Integer, nullable=False, server_default=text("0")),
    Column("tags", Text, nullable=False, server_default=text("'[]'")),  # JSON list of strings
    Column("preferences", Text, nullable=False, server_default=text("'{}'")),  # JSON object of strings
    Column("merged_into", Text),  # the record this one was merged into (always a surviving one)
    Column("updated_at", DOUBLE_PRECISION),
    Index("customers_merged_into", "merged_into"),
)

identities = Table(
    "identities",
    metadata,
    Column("channel", Text, primary_key=True),
    Column("external_id", Text, primary_key=True),
    Column("customer_id", Text, ForeignKey("customers.id"), nullable=False),
    Column("created_at", DOUBLE_PRECISION, nullable=False),
    Column("source", Text, nullable=False, server_default=text("'channel'")),
    Column("verified_at", DOUBLE_PRECISION),
    Column("detail", Text, nullable=False, server_default=text("'{}'")),  # JSON: how it was proven or by whom
    Index("identities_customer", "customer_id"),
)

# One row per merge, never changed: what moved where, who did it and why (the "explain" of a customer record).
customer_merges = Table(
    "customer_merges",
    metadata,
    Column("id", Text, primary_key=True),
    Column("source_id", Text, nullable=False),
    Column("target_id", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("detail", Text, nullable=False, server_default=text("'{}'")),
    Column("moved", Text, nullable=False, server_default=text("'{}'")),
    Column("at", DOUBLE_PRECISION, nullable=False),
    Index("customer_merges_target", "target_id", "at"),
    Index("customer_merges_source", "source_id"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Text, primary_key=True),
    Column("customer_id", Text, ForeignKey("customers.id"), nullable=False),
    Column("channel", Text, nullable=False),
    Column("language", Text, nullable=False, server_default=text("''")),
    Column("external_id", Text, nullable=False, server_default=text("''")),
    Column("token_hash", Text, nullable=False, server_default=text("''")),
    Column("created_at", DOUBLE_PRECISION, nullable=False),
    Column("closed_at", DOUBLE_PRECISION),
    Column("last_customer_at", DOUBLE_PRECISION),
    Column("next_seq", BigInteger, nullable=False, server_default=text("0")),
    Index("conversations_customer", "customer_id", "created_at"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Text, primary_key=True),
    Column("conversation_id", Text, ForeignKey("conversations.id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("sender", Text, nullable=False),
    Column("sender_id", Text, nullable=False, server_default=text("''")),
    Column("text", Text, nullable=False, server_default=text("''")),
    Column("buttons", Text, nullable=False, server_default=text("'[]'")),
    Column("custom", Text, nullable=False, server_default=text("'{}'")),
    Column("created_at", DOUBLE_PRECISION, nullable=False),
    # The sender's own id for a customer message (a REST body field, a socket frame's, WeChat's MsgId): a retry with
    # the same id finds the stored message instead of storing it again. NULL for every other message.
    Column("client_message_id", Text),
    UniqueConstraint("conversation_id", "seq"),
    Index("messages_client_message_id", "conversation_id", "client_message_id", unique=True),
)
