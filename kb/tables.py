"""The knowledge base's tables: FAQ entries, their revisions, the store counter, unanswered questions, feedback,
thresholds applied from the calibration report.

Declared once on `backends.schema.metadata`; Alembic revisions in `migrations/versions` create and change them.
Must never hold queries: `kb.store`, `kb.unanswered`, `kb.feedback` and `kb.overrides` do.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, Table, Text
from sqlalchemy.types import DOUBLE_PRECISION

from backends.schema import metadata

kb_entries = Table(
    "kb_entries",
    metadata,
    Column("id", Text, primary_key=True),
    Column("language", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("question", Text, nullable=False),
    Column("paraphrases", Text, nullable=False),  # JSON list
    Column("answer", Text, nullable=False),
    Column("tags", Text, nullable=False),  # JSON list
    Column("author", Text, nullable=False),
    Column("created_at", DOUBLE_PRECISION, nullable=False),
    Column("updated_at", DOUBLE_PRECISION, nullable=False),
    Column("published_at", DOUBLE_PRECISION),
    Index("kb_entries_status", "status", "language"),
)

kb_revisions = Table(
    "kb_revisions",
    metadata,
    Column("entry_id", Text, ForeignKey("kb_entries.id", ondelete="CASCADE"), primary_key=True),
    Column("version", BigInteger, primary_key=True),
    Column("action", Text, nullable=False),
    Column("author", Text, nullable=False),
    Column("at", DOUBLE_PRECISION, nullable=False),
    Column("note", Text, nullable=False),
    Column("snapshot", Text, nullable=False),  # the entry as JSON
)

kb_meta = Table(
    "kb_meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", BigInteger, nullable=False),
)

kb_unanswered = Table(
    "kb_unanswered",
    metadata,
    Column("id", Text, primary_key=True),
    Column("query", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("conversation_id", Text, nullable=False),
    Column("entry_id", Text, nullable=False),
    Column("confidence", DOUBLE_PRECISION),
    Column("at", DOUBLE_PRECISION, nullable=False),
    Column("state", Text, nullable=False),
    Column("draft_entry_id", Text, nullable=False),
    Column("dedupe_key", Text, nullable=False, unique=True),
    Index("kb_unanswered_open", "state", "language", "at"),
)

kb_feedback = Table(
    "kb_feedback",
    metadata,
    Column("entry_id", Text, nullable=False),
    Column("conversation_id", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("helpful", Integer, nullable=False),
    Column("confidence", DOUBLE_PRECISION),
    Column("at", DOUBLE_PRECISION, nullable=False),
    Index("kb_feedback_entry", "entry_id", "at"),
)

# Thresholds an editor applied from the calibration report (kb/overrides.py): one row per language, in force over the
# KB's own fit until reset. `basis` (JSON) says what they were proposed from: labelled decisions, estimates, target.
kb_thresholds = Table(
    "kb_thresholds",
    metadata,
    Column("language", Text, primary_key=True),
    Column("answer", DOUBLE_PRECISION, nullable=False),
    Column("clarify", DOUBLE_PRECISION, nullable=False),
    Column("set_by", Text, nullable=False),
    Column("set_at", DOUBLE_PRECISION, nullable=False),
    Column("basis", Text, nullable=False),
)
