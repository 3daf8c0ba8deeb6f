"""The actions package's table: 'was this helpful?' clicks as the actions record them.

Declared once on `backends.schema.metadata`; Alembic revisions in `migrations/versions` create and change it.
Must never hold queries: `actions.feedback` does.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, Table, Text
from sqlalchemy.types import DOUBLE_PRECISION

from backends.schema import metadata

bot_answer_feedback = Table(
    "bot_answer_feedback",
    metadata,
    Column("conversation_id", Text, nullable=False),
    Column("customer_id", Text, nullable=False),
    Column("entry_id", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("helpful", Integer, nullable=False),
    Column("confidence", DOUBLE_PRECISION),
    Column("at", DOUBLE_PRECISION, nullable=False),
    Index("bot_answer_feedback_entry", "entry_id", "at"),
)
