"""The analytics facts: tables derived only from the service record, for the reports.

Revision ID: 0008_analytics_facts
Revises: 0007_service_record
Create Date: 2026-11-30

Creates `analytics_conversations`, `analytics_handoffs`, `analytics_agent_work`, `analytics_tickets`,
`analytics_surveys`, `analytics_kb`, their daily rollups `analytics_daily_*` and `analytics_state`
(`analytics.tables`), empty. Touches no other table: the
projector fills them from `service_events` on its first pass (or `frontdoor analytics rebuild`), so a database with
months of record gets its facts without a data migration here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008_analytics_facts"
down_revision: str | Sequence[str] | None = "0007_service_record"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIMENSIONS = ("channel", "language", "team", "queue", "category", "priority", "agent")
HANDOFF_DURATIONS = ("queue_wait_s", "first_response_s", "first_response_bh_s", "next_reply_s", "handle_s")
ROLLUP_DIMENSIONS = ("channel", "language", "team", "category", "priority")
BUCKETS = ("b0", "b1", "b2", "b3", "b4")
# The daily rollups: (table, grouping keys beside the day and the rollup dimensions, counters).
ROLLUPS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("analytics_daily_conversations", ("handoff_reason",), ("n", "handed_off", "contained")),
    ("analytics_daily_handoffs", (), ("n", "abandoned", *BUCKETS)),
    ("analytics_daily_tickets", (), ("n", "resolved", "reopened", "fcr", "complaints", *BUCKETS)),
    ("analytics_daily_surveys", (), ("sent", "answered", "scored", "satisfied")),
    ("analytics_daily_kb", (), ("decisions", "answer", "clarify", "not_found", "feedback", "helpful")),
)


def _text(*names: str, nullable: bool = True) -> list[sa.Column[str]]:
    return [sa.Column(name, sa.Text(), nullable=nullable) for name in names]


def _double(*names: str, nullable: bool = True) -> list[sa.Column[float]]:
    return [sa.Column(name, sa.DOUBLE_PRECISION(), nullable=nullable) for name in names]


def _int(*names: str) -> list[sa.Column[int]]:
    return [sa.Column(name, sa.Integer(), server_default="0", nullable=False) for name in names]


def _table(name: str, key: Sequence[str], *columns: sa.Column[Any], indexes: dict[str, list[str]]) -> None:
    op.create_table(name, *columns, sa.PrimaryKeyConstraint(*key, name=f"{name}_pkey"))
    for index, index_columns in indexes.items():
        op.create_index(index, name, index_columns)


def upgrade() -> None:
    _table(
        "analytics_conversations",
        ["conversation_id"],
        *_text("conversation_id", nullable=False),
        *_text("customer_id"),
        *_double("opened_at", nullable=False),
        *_text("day", nullable=False),
        *_text(*DIMENSIONS),
        *_double("closed_at"),
        *_int("handed_off"),
        *_text("handoff_reason"),
        *_int("returned_24h", "contained", "abandoned", "episodes", "bot_turns", "agent_replies"),
        indexes={
            "analytics_conversations_day": ["day"],
            "analytics_conversations_customer": ["customer_id", "opened_at"],
        },
    )
    _table(
        "analytics_handoffs",
        ["id"],
        *_text("id", "conversation_id", nullable=False),
        *_text("customer_id"),
        *_double("requested_at", nullable=False),
        *_text("day", nullable=False),
        *_text(*DIMENSIONS, "reason", "tier"),
        *_double("assigned_at", "first_reply_at", "ended_at", "queue_wait_s", "first_response_s"),
        *_double("first_response_bh_s", "next_reply_s", "handle_s"),
        *_int("replies", "transfers", "agents", "resolved", "abandoned"),
        indexes={
            "analytics_handoffs_day": ["day"],
            "analytics_handoffs_conversation": ["conversation_id"],
            **{f"analytics_handoffs_{c}": ["day", c] for c in HANDOFF_DURATIONS},
        },
    )
    _table(
        "analytics_agent_work",
        ["episode_id", "agent"],
        *_text("episode_id", "agent", "conversation_id", "day", nullable=False),
        *_double("assigned_at", "first_reply_at", "first_response_s", "handle_s"),
        *_int("replies", "resolved"),
        indexes={
            "analytics_agent_work_day": ["day", "agent"],
            "analytics_agent_work_conversation": ["conversation_id"],
        },
    )
    _table(
        "analytics_tickets",
        ["ticket"],
        *_text("ticket", nullable=False),
        *_text("conversation_id", "customer_id"),
        *_double("created_at", nullable=False),
        *_text("day", nullable=False),
        *_text(*DIMENSIONS, "status"),
        *_double("first_response_due", "first_response_at", "first_response_s", "first_response_bh_s"),
        *_double("resolution_due", "resolved_at", "resolution_s", "resolution_bh_s"),
        *_double("final_resolved_at", "final_resolution_s"),
        *_int("resolutions", "reopened", "replies", "fcr"),
        indexes={"analytics_tickets_day": ["day"], "analytics_tickets_resolution_s": ["day", "resolution_s"]},
    )
    _table(
        "analytics_surveys",
        ["survey"],
        *_text("survey", "conversation_id", nullable=False),
        *_text("ticket"),
        *_double("sent_at", nullable=False),
        *_text("day", nullable=False),
        *_text(*DIMENSIONS),
        *_double("answered_at"),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("solved", sa.Integer(), nullable=True),
        indexes={"analytics_surveys_day": ["day"], "analytics_surveys_conversation": ["conversation_id"]},
    )
    _table(
        "analytics_kb",
        ["id"],
        *_text("id", "conversation_id", nullable=False),
        *_double("at", nullable=False),
        *_text("day", nullable=False),
        *_text(*DIMENSIONS, "decision", "entry", "query"),
        sa.Column("helpful", sa.Integer(), nullable=True),
        indexes={
            "analytics_kb_day": ["day"],
            "analytics_kb_conversation": ["conversation_id"],
            "analytics_kb_not_found": ["decision", "day", "query"],
            "analytics_kb_helpful": ["helpful", "day", "entry"],
        },
    )
    for name, keys, counters in ROLLUPS:
        op.create_table(
            name,
            *_text("day", nullable=False),
            *_text(*ROLLUP_DIMENSIONS, *keys),
            *_int(*counters),
        )
        op.create_index(f"{name}_day", name, ["day"])
    _table(
        "analytics_state",
        ["name"],
        *_text("name", nullable=False),
        *_double("value", nullable=False),
        indexes={},
    )


def downgrade() -> None:
    """Drops the facts only: the record keeps every event, and a rebuild derives them again."""
    for name in (
        *(rollup[0] for rollup in ROLLUPS),
        "analytics_state",
        "analytics_kb",
        "analytics_surveys",
        "analytics_tickets",
        "analytics_agent_work",
        "analytics_handoffs",
        "analytics_conversations",
    ):
        op.drop_table(name)
