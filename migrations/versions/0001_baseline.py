"""Baseline: exactly the schema the stores created with CREATE TABLE IF NOT EXISTS before Alembic.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-29

Every create is IF NOT EXISTS: a database from before Alembic that holds all of these tables is stamped instead
(`migrations.upgrade`), and one that holds only some (a front door whose KB never started) gets the rest here.
Constraint names follow `backends.schema.NAMING_CONVENTION`, which is PostgreSQL's own default naming.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_baseline"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sa.Text()
DOUBLE: sa.DOUBLE_PRECISION[float] = sa.DOUBLE_PRECISION()
EMPTY = sa.text("''")


def upgrade() -> None:
    # conversations
    op.create_table(
        "customers",
        sa.Column("id", TEXT, nullable=False),
        sa.Column("display_name", TEXT, server_default=EMPTY, nullable=False),
        sa.Column("tier", TEXT, server_default=sa.text("'standard'"), nullable=False),
        sa.Column("email", TEXT, server_default=EMPTY, nullable=False),
        sa.Column("phone", TEXT, server_default=EMPTY, nullable=False),
        sa.Column("language", TEXT, server_default=EMPTY, nullable=False),
        sa.Column("created_at", DOUBLE, nullable=False),
        sa.Column("unsubscribed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="customers_pkey"),
        if_not_exists=True,
    )
    op.create_table(
        "identities",
        sa.Column("channel", TEXT, nullable=False),
        sa.Column("external_id", TEXT, nullable=False),
        sa.Column("customer_id", TEXT, nullable=False),
        sa.Column("created_at", DOUBLE, nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="identities_customer_id_fkey"),
        sa.PrimaryKeyConstraint("channel", "external_id", name="identities_pkey"),
        if_not_exists=True,
    )
    op.create_index("identities_customer", "identities", ["customer_id"], if_not_exists=True)
    op.create_table(
        "conversations",
        sa.Column("id", TEXT, nullable=False),
        sa.Column("customer_id", TEXT, nullable=False),
        sa.Column("channel", TEXT, nullable=False),
        sa.Column("language", TEXT, server_default=EMPTY, nullable=False),
        sa.Column("external_id", TEXT, server_default=EMPTY, nullable=False),
        sa.Column("token_hash", TEXT, server_default=EMPTY, nullable=False),
        sa.Column("created_at", DOUBLE, nullable=False),
        sa.Column("closed_at", DOUBLE, nullable=True),
        sa.Column("last_customer_at", DOUBLE, nullable=True),
        sa.Column("next_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="conversations_customer_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="conversations_pkey"),
        if_not_exists=True,
    )
    op.create_index("conversations_customer", "conversations", ["customer_id", "created_at"], if_not_exists=True)
    op.create_table(
        "messages",
        sa.Column("id", TEXT, nullable=False),
        sa.Column("conversation_id", TEXT, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("sender", TEXT, nullable=False),
        sa.Column("sender_id", TEXT, server_default=EMPTY, nullable=False),
        sa.Column("text", TEXT, server_default=EMPTY, nullable=False),
        sa.Column("buttons", TEXT, server_default=sa.text("'[]'"), nullable=False),
        sa.Column("custom", TEXT, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("created_at", DOUBLE, nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], name="messages_conversation_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="messages_pkey"),
        sa.UniqueConstraint("conversation_id", "seq", name="messages_conversation_id_seq_key"),
        if_not_exists=True,
    )

    # kb
    op.create_table(
        "kb_entries",
        sa.Column("id", TEXT, nullable=False),
        sa.Column("language", TEXT, nullable=False),
        sa.Column("category", TEXT, nullable=False),
        sa.Column("status", TEXT, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("question", TEXT, nullable=False),
        sa.Column("paraphrases", TEXT, nullable=False),
        sa.Column("answer", TEXT, nullable=False),
        sa.Column("tags", TEXT, nullable=False),
        sa.Column("author", TEXT, nullable=False),
        sa.Column("created_at", DOUBLE, nullable=False),
        sa.Column("updated_at", DOUBLE, nullable=False),
        sa.Column("published_at", DOUBLE, nullable=True),
        sa.PrimaryKeyConstraint("id", name="kb_entries_pkey"),
        if_not_exists=True,
    )
    op.create_index("kb_entries_status", "kb_entries", ["status", "language"], if_not_exists=True)
    op.create_table(
        "kb_revisions",
        sa.Column("entry_id", TEXT, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("action", TEXT, nullable=False),
        sa.Column("author", TEXT, nullable=False),
        sa.Column("at", DOUBLE, nullable=False),
        sa.Column("note", TEXT, nullable=False),
        sa.Column("snapshot", TEXT, nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["kb_entries.id"], name="kb_revisions_entry_id_fkey", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("entry_id", "version", name="kb_revisions_pkey"),
        if_not_exists=True,
    )
    op.create_table(
        "kb_meta",
        sa.Column("key", TEXT, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="kb_meta_pkey"),
        if_not_exists=True,
    )
    op.create_table(
        "kb_unanswered",
        sa.Column("id", TEXT, nullable=False),
        sa.Column("query", TEXT, nullable=False),
        sa.Column("language", TEXT, nullable=False),
        sa.Column("reason", TEXT, nullable=False),
        sa.Column("conversation_id", TEXT, nullable=False),
        sa.Column("entry_id", TEXT, nullable=False),
        sa.Column("confidence", DOUBLE, nullable=True),
        sa.Column("at", DOUBLE, nullable=False),
        sa.Column("state", TEXT, nullable=False),
        sa.Column("draft_entry_id", TEXT, nullable=False),
        sa.Column("dedupe_key", TEXT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="kb_unanswered_pkey"),
        sa.UniqueConstraint("dedupe_key", name="kb_unanswered_dedupe_key_key"),
        if_not_exists=True,
    )
    op.create_index("kb_unanswered_open", "kb_unanswered", ["state", "language", "at"], if_not_exists=True)
    op.create_table(
        "kb_feedback",
        sa.Column("entry_id", TEXT, nullable=False),
        sa.Column("conversation_id", TEXT, nullable=False),
        sa.Column("query", TEXT, nullable=False),
        sa.Column("language", TEXT, nullable=False),
        sa.Column("helpful", sa.Integer(), nullable=False),
        sa.Column("confidence", DOUBLE, nullable=True),
        sa.Column("at", DOUBLE, nullable=False),
        if_not_exists=True,
    )
    op.create_index("kb_feedback_entry", "kb_feedback", ["entry_id", "at"], if_not_exists=True)

    # actions
    op.create_table(
        "bot_answer_feedback",
        sa.Column("conversation_id", TEXT, nullable=False),
        sa.Column("customer_id", TEXT, nullable=False),
        sa.Column("entry_id", TEXT, nullable=False),
        sa.Column("query", TEXT, nullable=False),
        sa.Column("language", TEXT, nullable=False),
        sa.Column("helpful", sa.Integer(), nullable=False),
        sa.Column("confidence", DOUBLE, nullable=True),
        sa.Column("at", DOUBLE, nullable=False),
        if_not_exists=True,
    )
    op.create_index("bot_answer_feedback_entry", "bot_answer_feedback", ["entry_id", "at"], if_not_exists=True)

    # intake
    op.create_table(
        "intake_counters",
        sa.Column("name", TEXT, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="intake_counters_pkey"),
        if_not_exists=True,
    )
    op.execute("INSERT INTO intake_counters (name, value) VALUES ('ticket', 0) ON CONFLICT (name) DO NOTHING")
    op.create_table(
        "intake_tickets",
        sa.Column("number", TEXT, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", TEXT, nullable=False),
        sa.Column("conversation_id", TEXT, server_default=EMPTY, nullable=False),
        sa.Column("order_number", TEXT, nullable=True),
        sa.Column("product", TEXT, nullable=True),
        sa.Column("category", TEXT, nullable=True),
        sa.Column("description", TEXT, nullable=True),
        sa.Column("urgency", TEXT, nullable=True),
        sa.Column("contact", TEXT, nullable=True),
        sa.Column("language", TEXT, server_default=sa.text("'en'"), nullable=False),
        sa.Column("priority", TEXT, nullable=False),
        sa.Column("status", TEXT, nullable=False),
        sa.Column("created_at", DOUBLE, nullable=False),
        sa.Column("updated_at", DOUBLE, nullable=False),
        sa.Column("first_response_due", DOUBLE, nullable=False),
        sa.Column("resolution_due", DOUBLE, nullable=False),
        sa.Column("first_responded_at", DOUBLE, nullable=True),
        sa.Column("resolved_at", DOUBLE, nullable=True),
        sa.Column("closed_at", DOUBLE, nullable=True),
        sa.Column("extra", TEXT, server_default=sa.text("'{}'"), nullable=False),
        sa.PrimaryKeyConstraint("number", name="intake_tickets_pkey"),
        sa.UniqueConstraint("seq", name="intake_tickets_seq_key"),
        if_not_exists=True,
    )
    op.create_index("intake_tickets_customer", "intake_tickets", ["customer_id", "seq"], if_not_exists=True)
    op.create_index("intake_tickets_status", "intake_tickets", ["status", "priority"], if_not_exists=True)
    op.create_table(
        "intake_ticket_history",
        sa.Column("number", TEXT, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("from_status", TEXT, nullable=True),
        sa.Column("to_status", TEXT, nullable=False),
        sa.Column("actor", TEXT, nullable=False),
        sa.Column("note", TEXT, server_default=EMPTY, nullable=False),
        sa.Column("at", DOUBLE, nullable=False),
        sa.ForeignKeyConstraint(["number"], ["intake_tickets.number"], name="intake_ticket_history_number_fkey"),
        sa.PrimaryKeyConstraint("number", "seq", name="intake_ticket_history_pkey"),
        if_not_exists=True,
    )

    # staff (staff.auth, handoff.profiles) and satisfaction surveys (conversations.surveys)
    op.create_table(
        "staff",
        sa.Column("username", TEXT, nullable=False),
        sa.Column("display_name", TEXT, nullable=False),
        sa.Column("password_hash", TEXT, nullable=False),
        sa.Column("roles", TEXT, nullable=False),
        sa.Column("created_at", DOUBLE, nullable=False),
        sa.PrimaryKeyConstraint("username", name="staff_pkey"),
        if_not_exists=True,
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", TEXT, nullable=False),
        sa.Column("username", TEXT, nullable=False),
        sa.Column("expires_at", DOUBLE, nullable=False),
        sa.ForeignKeyConstraint(
            ["username"], ["staff.username"], name="staff_sessions_username_fkey", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_hash", name="staff_sessions_pkey"),
        if_not_exists=True,
    )
    op.create_table(
        "agent_profiles",
        sa.Column("username", TEXT, nullable=False),
        sa.Column("display_name", TEXT, nullable=False),
        sa.Column("skills", TEXT, nullable=False),
        sa.Column("languages", TEXT, nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("updated_at", DOUBLE, nullable=False),
        sa.PrimaryKeyConstraint("username", name="agent_profiles_pkey"),
        if_not_exists=True,
    )
    op.create_table(
        "handoff_surveys",
        sa.Column("id", TEXT, nullable=False),
        sa.Column("conversation_id", TEXT, nullable=False),
        sa.Column("agent_id", TEXT, server_default=EMPTY, nullable=False),
        sa.Column("state", TEXT, nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("comment", TEXT, server_default=EMPTY, nullable=False),
        sa.Column("asked_at", DOUBLE, nullable=False),
        sa.Column("rated_at", DOUBLE, nullable=True),
        sa.Column("commented_at", DOUBLE, nullable=True),
        sa.PrimaryKeyConstraint("id", name="handoff_surveys_pkey"),
        if_not_exists=True,
    )
    op.create_index(
        "handoff_surveys_conversation", "handoff_surveys", ["conversation_id", "asked_at"], if_not_exists=True
    )


def downgrade() -> None:
    for table in (
        "handoff_surveys",
        "agent_profiles",
        "staff_sessions",
        "staff",
        "intake_ticket_history",
        "intake_tickets",
        "intake_counters",
        "bot_answer_feedback",
        "kb_feedback",
        "kb_unanswered",
        "kb_meta",
        "kb_revisions",
        "kb_entries",
        "messages",
        "conversations",
        "identities",
        "customers",
    ):
        op.drop_table(table)  # its indexes go with it
