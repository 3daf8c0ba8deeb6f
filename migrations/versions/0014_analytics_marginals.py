"""Marginal rollups, the agents' work with its episode's dimensions, stopped SLA clocks rolled up, open clocks indexed.

Revision ID: 0014_analytics_marginals
Revises: 0013_analytics_durations
Create Date: 2026-11-30

So that a report with no filter or one filter reads only tables of bounded size (`analytics.rollups`):
- creates the marginal rollups `analytics_marginal_<name>` (per day, slice and group: what a queue or agent filter, the
  agents' table and the filter options need);
- adds to `analytics_agent_work` its episode's filter dimensions and `first_in_conversation` (the agent's first
  episode in the conversation, where their conversation counts), filled from the handoff facts;
- adds the stopped SLA clocks' counters (`fr_met`, `fr_late`, `res_met`, `res_late`) to `analytics_daily_tickets`;
- indexes the tickets whose first-response or resolution clock still runs (partial indexes), the only SLA facts a
  report still reads.
Then recomputes every rollup from the facts already there with the projector's own statements, so a database upgraded
with a year of facts reports at once, without `frontdoor analytics rebuild`. Changes no other row.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from analytics.rollups import ALL_ROLLUPS
from analytics.tables import COUNTERS, SLA_COUNTERS, analytics_agent_work, analytics_handoffs

revision: str = "0014_analytics_marginals"
down_revision: str | Sequence[str] | None = "0013_analytics_durations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WORK = "analytics_agent_work"
WORK_DIMENSIONS = ("channel", "language", "team", "queue", "category", "priority")
FIRST = "first_in_conversation"
DAILY_TICKETS = "analytics_daily_tickets"
# The partial indexes: (name, due column, the clock's stop column).
OPEN_CLOCKS = (
    ("analytics_tickets_open_first_response", "first_response_due", "first_response_at"),
    ("analytics_tickets_open_resolution", "resolution_due", "final_resolved_at"),
)


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default="0", nullable=False)


def upgrade() -> None:
    for name in WORK_DIMENSIONS:
        op.add_column(WORK, sa.Column(name, sa.Text(), nullable=True))
    op.add_column(WORK, _counter(FIRST))
    for name in SLA_COUNTERS:
        op.add_column(DAILY_TICKETS, _counter(name))
    for name, counters in COUNTERS.items():
        table = f"analytics_marginal_{name}"
        op.create_table(
            table,
            sa.Column("day", sa.Text(), nullable=False),
            *(sa.Column(column, sa.Text(), nullable=False) for column in ("dimension", "value", "per", "item")),
            *(_counter(counter) for counter in counters),
        )
        op.create_index(f"{table}_slice", table, ["dimension", "value", "per", "day"])
        op.create_index(f"{table}_day", table, ["day"])
    for index, due, stop in OPEN_CLOCKS:
        running = sa.text(f"{stop} IS NULL")
        op.create_index(index, "analytics_tickets", ["day", due], postgresql_where=running, sqlite_where=running)
    bind = op.get_bind()
    for statement in [*_work_statements(), *(s for rollup in ALL_ROLLUPS for s in rollup.statements(None))]:
        bind.execute(statement)
    if bind.dialect.name == "postgresql":
        # The planner's statistics of the tables just written (a report's plans depend on them; autovacuum may be
        # off, or not yet round).
        rewritten = [
            WORK,
            *(t.name for rollup in ALL_ROLLUPS for t in (rollup.table, rollup.marginal) if t is not None),
        ]
        for name in rewritten:
            bind.execute(sa.text(f"ANALYZE {name}"))


def _work_statements() -> list[sa.Executable]:
    """The UPDATEs that give every agent's work row its episode's dimensions and its first-in-conversation flag
    (as `analytics.facts` does: no earlier episode of the conversation, by request time then id, has their work)."""
    W, H = analytics_agent_work, analytics_handoffs
    dimensions = sa.update(W).values({W.c[d]: H.c[d] for d in WORK_DIMENSIONS}).where(W.c.episode_id == H.c.id)
    earlier_work, earlier, this = W.alias("earlier_work"), H.alias("earlier"), H.alias("this")
    before = sa.exists().where(
        earlier_work.c.conversation_id == W.c.conversation_id,
        earlier_work.c.agent == W.c.agent,
        earlier.c.id == earlier_work.c.episode_id,
        this.c.id == W.c.episode_id,
        sa.or_(
            earlier.c.requested_at < this.c.requested_at,
            sa.and_(earlier.c.requested_at == this.c.requested_at, earlier.c.id < this.c.id),
        ),
    )
    first = sa.update(W).values({W.c[FIRST]: sa.case((before, 0), else_=1)})
    return [dimensions, first]


def downgrade() -> None:
    for index, _, _ in OPEN_CLOCKS:
        op.drop_index(index, table_name="analytics_tickets")
    for name in COUNTERS:
        op.drop_table(f"analytics_marginal_{name}")
    with op.batch_alter_table(DAILY_TICKETS) as batch:
        for name in SLA_COUNTERS:
            batch.drop_column(name)
    with op.batch_alter_table(WORK) as batch:
        for name in (*WORK_DIMENSIONS, FIRST):
            batch.drop_column(name)
