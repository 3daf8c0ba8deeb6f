"""Ticket workspace: the new status workflow, teams, assignment, a ticket timeline and SLA marks.

Revision ID: 0002_ticket_workspace
Revises: 0001_baseline
Create Date: 2026-11-30

Statuses are renamed in place (an untouched `open` ticket becomes `new`, `in_progress` becomes `open`,
`waiting_on_customer` becomes `pending_customer`), every status-history row moves into `intake_ticket_events`
(the first one as `created`) and the history table goes. Open tickets get `sla_next_check = created_at`, so the SLA
watcher looks at each of them on its first pass and sets the real next check.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_ticket_workspace"
down_revision: str | Sequence[str] | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sa.Text()
DOUBLE: sa.DOUBLE_PRECISION[float] = sa.DOUBLE_PRECISION()
EMPTY = sa.text("''")

_RENAMED = {"in_progress": "open", "waiting_on_customer": "pending_customer"}

_NEW_COLUMNS = (
    sa.Column("channel", TEXT, server_default=EMPTY, nullable=False),
    sa.Column("team_id", TEXT, nullable=True),
    sa.Column("assignee", TEXT, nullable=True),
    sa.Column("merged_into", TEXT, nullable=True),
    sa.Column("paused_at", DOUBLE, nullable=True),
    sa.Column("next_reply_due", DOUBLE, nullable=True),
    sa.Column("reply_clock_started_at", DOUBLE, nullable=True),
    sa.Column("sla_next_check", DOUBLE, nullable=True),
    sa.Column("first_response_warn_at", DOUBLE, nullable=True),
    sa.Column("next_reply_warn_at", DOUBLE, nullable=True),
    sa.Column("resolution_warn_at", DOUBLE, nullable=True),
)


def upgrade() -> None:
    for column in _NEW_COLUMNS:
        op.add_column("intake_tickets", column)
    op.execute(
        "UPDATE intake_tickets SET status = CASE "
        "WHEN status = 'open' AND first_responded_at IS NULL THEN 'new' "
        "WHEN status = 'open' THEN 'open' "
        "WHEN status = 'in_progress' THEN 'open' "
        "WHEN status = 'waiting_on_customer' THEN 'pending_customer' "
        "ELSE status END"
    )
    op.execute(
        "UPDATE intake_tickets SET channel = COALESCE("
        "(SELECT c.channel FROM conversations c WHERE c.id = intake_tickets.conversation_id), '')"
    )
    op.execute(
        "UPDATE intake_tickets SET sla_next_check = created_at WHERE status IN ('new', 'open', 'pending_internal')"
    )
    op.execute("UPDATE intake_tickets SET paused_at = updated_at WHERE status = 'pending_customer'")
    op.create_index("intake_tickets_conversation", "intake_tickets", ["conversation_id"])
    op.create_index("intake_tickets_team", "intake_tickets", ["team_id", "status"])
    op.create_index("intake_tickets_assignee", "intake_tickets", ["assignee", "status"])
    op.create_index("intake_tickets_sla_next_check", "intake_tickets", ["sla_next_check"])

    op.create_table(
        "intake_ticket_events",
        sa.Column("number", TEXT, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", TEXT, nullable=False),
        sa.Column("actor", TEXT, nullable=False),
        sa.Column("body", TEXT, server_default=EMPTY, nullable=False),
        sa.Column("data", TEXT, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("public", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("at", DOUBLE, nullable=False),
        sa.ForeignKeyConstraint(["number"], ["intake_tickets.number"], name="intake_ticket_events_number_fkey"),
        sa.PrimaryKeyConstraint("number", "seq", name="intake_ticket_events_pkey"),
    )
    bind = op.get_bind()
    history = bind.execute(
        sa.text("SELECT number, seq, from_status, to_status, actor, note, at FROM intake_ticket_history")
    ).all()
    if history:
        events = sa.table(
            "intake_ticket_events",
            *(sa.column(name) for name in ("number", "seq", "kind", "actor", "body", "data", "public", "at")),
        )
        bind.execute(
            events.insert(),
            [
                {
                    "number": row.number,
                    "seq": row.seq,
                    "kind": "created" if row.from_status is None else "status",
                    "actor": row.actor,
                    "body": row.note,
                    # The first row is the creation: the old "open" then meant what "new" means now.
                    "data": json.dumps(
                        {
                            "from": _RENAMED.get(row.from_status, row.from_status),
                            "to": "new" if row.from_status is None else _RENAMED.get(row.to_status, row.to_status),
                        }
                    ),
                    "public": True,
                    "at": row.at,
                }
                for row in history
            ],
        )
    op.drop_table("intake_ticket_history")

    op.create_table(
        "intake_sla_marks",
        sa.Column("number", TEXT, nullable=False),
        sa.Column("metric", TEXT, nullable=False),
        sa.Column("kind", TEXT, nullable=False),
        sa.Column("due", DOUBLE, nullable=False),
        sa.Column("at", DOUBLE, nullable=False),
        sa.ForeignKeyConstraint(["number"], ["intake_tickets.number"], name="intake_sla_marks_number_fkey"),
        sa.PrimaryKeyConstraint("number", "metric", "kind", "due", name="intake_sla_marks_pkey"),
    )
    op.create_table(
        "intake_teams",
        sa.Column("id", TEXT, nullable=False),
        sa.Column("name", TEXT, nullable=False),
        sa.Column("skills", TEXT, server_default=sa.text("'[]'"), nullable=False),
        sa.Column("lead", TEXT, nullable=True),
        sa.Column("targets", TEXT, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("updated_at", DOUBLE, nullable=False),
        sa.PrimaryKeyConstraint("id", name="intake_teams_pkey"),
    )
    op.create_table(
        "intake_team_members",
        sa.Column("team_id", TEXT, nullable=False),
        sa.Column("username", TEXT, nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["intake_teams.id"], name="intake_team_members_team_id_fkey", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", "username", name="intake_team_members_pkey"),
    )
    op.create_index("intake_team_members_username", "intake_team_members", ["username"])


def downgrade() -> None:
    raise NotImplementedError("0002_ticket_workspace is forward-only: restore a backup to go back")
