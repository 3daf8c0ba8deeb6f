"""Notifications: the record of every delivery to a ticket's customer, the follow-up after resolution, and surveys
that serve both the live chat and the follow-up.

Revision ID: 0005_notifications
Revises: 0004_ticket_list_indexes
Create Date: 2026-12-07

`intake_deliveries` records each attempt on each route; `intake_follow_ups` holds each resolution's next follow-up
step and when it is due, and `intake_follow_up_marks` the claims that make each step happen once. `handoff_surveys`
gains the follow-up's columns (its ticket, "solved?", the reminder) and who was asked on which channel in which
language, filled in for the surveys already there from their conversations.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_notifications"
down_revision: str | Sequence[str] | None = "0004_ticket_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sa.Text()
DOUBLE: sa.DOUBLE_PRECISION[float] = sa.DOUBLE_PRECISION()
EMPTY = sa.text("''")


def upgrade() -> None:
    op.create_table(
        "intake_deliveries",
        sa.Column("id", TEXT, nullable=False),
        sa.Column("number", TEXT, nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=True),
        sa.Column("purpose", TEXT, nullable=False),
        sa.Column("channel", TEXT, nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", TEXT, server_default=EMPTY, nullable=False),
        sa.Column("at", DOUBLE, nullable=False),
        sa.ForeignKeyConstraint(["number"], ["intake_tickets.number"], name="intake_deliveries_number_fkey"),
        sa.PrimaryKeyConstraint("id", name="intake_deliveries_pkey"),
    )
    op.create_index("intake_deliveries_number", "intake_deliveries", ["number", "at"])

    op.create_table(
        "intake_follow_ups",
        sa.Column("number", TEXT, nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("conversation_id", TEXT, nullable=False),
        sa.Column("resolved_at", DOUBLE, nullable=False),
        sa.Column("step", TEXT, nullable=False),
        sa.Column("due_at", DOUBLE, nullable=True),
        sa.Column("survey_id", TEXT, nullable=True),
        sa.Column("asked_at", DOUBLE, nullable=True),
        sa.Column("reminded_at", DOUBLE, nullable=True),
        sa.ForeignKeyConstraint(["number"], ["intake_tickets.number"], name="intake_follow_ups_number_fkey"),
        sa.PrimaryKeyConstraint("number", "event_seq", name="intake_follow_ups_pkey"),
    )
    op.create_index("intake_follow_ups_due", "intake_follow_ups", ["due_at"])

    op.create_table(
        "intake_follow_up_marks",
        sa.Column("number", TEXT, nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("step", TEXT, nullable=False),
        sa.Column("at", DOUBLE, nullable=False),
        sa.ForeignKeyConstraint(
            ["number", "event_seq"],
            ["intake_follow_ups.number", "intake_follow_ups.event_seq"],
            name="intake_follow_up_marks_number_event_seq_fkey",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("number", "event_seq", "step", name="intake_follow_up_marks_pkey"),
    )

    for column in (
        sa.Column("ticket", TEXT, nullable=True),
        sa.Column("solved", sa.Boolean(), nullable=True),
        sa.Column("reminded_at", DOUBLE, nullable=True),
        sa.Column("customer_id", TEXT, server_default=EMPTY, nullable=False),
        sa.Column("channel", TEXT, server_default=EMPTY, nullable=False),
        sa.Column("language", TEXT, server_default=EMPTY, nullable=False),
    ):
        op.add_column("handoff_surveys", column)
    op.execute(
        "UPDATE handoff_surveys SET "
        "customer_id = COALESCE((SELECT c.customer_id FROM conversations c "
        "WHERE c.id = handoff_surveys.conversation_id), ''), "
        "channel = COALESCE((SELECT c.channel FROM conversations c WHERE c.id = handoff_surveys.conversation_id), ''), "
        "language = COALESCE((SELECT c.language FROM conversations c WHERE c.id = handoff_surveys.conversation_id), '')"
    )
    op.create_index("handoff_surveys_customer", "handoff_surveys", ["customer_id", "asked_at"])


def downgrade() -> None:
    op.drop_index("handoff_surveys_customer", table_name="handoff_surveys")
    with op.batch_alter_table("handoff_surveys") as batch:
        for name in ("language", "channel", "customer_id", "reminded_at", "solved", "ticket"):
            batch.drop_column(name)
    op.drop_table("intake_follow_up_marks")
    op.drop_index("intake_follow_ups_due", table_name="intake_follow_ups")
    op.drop_table("intake_follow_ups")
    op.drop_index("intake_deliveries_number", table_name="intake_deliveries")
    op.drop_table("intake_deliveries")
