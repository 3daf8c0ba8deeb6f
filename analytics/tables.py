"""The analytics facts: tables derived only from `service_events`, one row per thing a report counts.

Declared once on `backends.schema.metadata`; Alembic revision 0008 creates them. Must never hold queries
(`analytics.projector` writes them, `analytics.report` and friends read them) and never be written from anything
but the record: dropping every row and running `frontdoor analytics rebuild` gives the same tables back.

Every fact carries its business `day` (YYYY-MM-DD in FD_ANALYTICS_TIMEZONE, of the instant it counts from) and the
report's filter dimensions (channel, language, team, queue, category, priority, agent; NULL when unknown), so a
report is one indexed range scan per table. Flags are integers 0/1, so a ratio is `sum(flag) / count(*)`; times are
epoch seconds, durations `*_s` seconds (`*_bh_s`: business seconds on the one business calendar).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, Table, Text
from sqlalchemy.types import DOUBLE_PRECISION

from backends.schema import metadata

# The report's filters, in the order of the spec; every fact table has these columns.
FILTER_DIMENSIONS = ("channel", "language", "team", "queue", "category", "priority", "agent")


def _time(name: str) -> Column[float]:
    return Column(name, DOUBLE_PRECISION)


def _int(name: str) -> Column[int]:
    """A flag (0/1) or a count."""
    return Column(name, Integer, nullable=False, server_default="0")


def _dimensions() -> list[Column[str]]:
    return [Column(name, Text) for name in FILTER_DIMENSIONS]


# The handoff durations whose percentiles the report reads.
HANDOFF_DURATIONS = ("queue_wait_s", "first_response_s", "first_response_bh_s", "next_reply_s", "handle_s")

# One row per conversation (its first event opens it).
analytics_conversations = Table(
    "analytics_conversations",
    metadata,
    Column("conversation_id", Text, primary_key=True),
    Column("customer_id", Text),
    Column("opened_at", DOUBLE_PRECISION, nullable=False),
    Column("day", Text, nullable=False),
    *_dimensions(),
    _time("closed_at"),
    _int("handed_off"),  # at least one handoff request (any outcome but a duplicate)
    Column("handoff_reason", Text),  # the first request's reason code
    _int("returned_24h"),  # the same customer opened another conversation within 24 h of this one's opening
    _int("contained"),  # neither handed off nor returned within 24 h
    _int("abandoned"),  # an episode of it was abandoned in the queue
    _int("episodes"),  # handoff episodes (a count)
    _int("bot_turns"),
    _int("agent_replies"),
    Index("analytics_conversations_day", "day"),
    Index("analytics_conversations_customer", "customer_id", "opened_at"),
)

# One row per handoff episode: a request that reached the queue, until wrap-up, abandonment or the next request.
analytics_handoffs = Table(
    "analytics_handoffs",
    metadata,
    Column("id", Text, primary_key=True),  # the id of the `queued` event (cause "request") that opened it
    Column("conversation_id", Text, nullable=False),
    Column("customer_id", Text),
    Column("requested_at", DOUBLE_PRECISION, nullable=False),
    Column("day", Text, nullable=False),
    *_dimensions(),  # agent: the agent who replied first (else the first assigned)
    Column("reason", Text),
    Column("tier", Text),
    _time("assigned_at"),
    _time("first_reply_at"),
    _time("ended_at"),  # wrap-up or abandonment
    Column("queue_wait_s", DOUBLE_PRECISION),
    Column("first_response_s", DOUBLE_PRECISION),
    Column("first_response_bh_s", DOUBLE_PRECISION),
    Column("next_reply_s", DOUBLE_PRECISION),  # the median, over the episode, of customer message → next agent reply
    Column("handle_s", DOUBLE_PRECISION),  # first assignment → wrap-up
    _int("replies"),
    _int("transfers"),
    _int("agents"),  # distinct agents who replied
    _int("resolved"),  # ended in a wrap-up (once, however many agents it passed through)
    _int("abandoned"),
    Index("analytics_handoffs_day", "day"),
    Index("analytics_handoffs_conversation", "conversation_id"),
    # Percentiles read a range's values of a duration from the index alone (analytics.percentiles).
    *(Index(f"analytics_handoffs_{c}", "day", c) for c in HANDOFF_DURATIONS),
)

# One row per (episode, agent who replied in it): what each agent answered, never a bot message.
analytics_agent_work = Table(
    "analytics_agent_work",
    metadata,
    Column("episode_id", Text, primary_key=True),
    Column("agent", Text, primary_key=True),  # who did the work (the `agent` filter matches it)
    Column("conversation_id", Text, nullable=False),
    Column("day", Text, nullable=False),  # the episode's
    # The episode's other filter dimensions, copied so that a filtered agents table reads this table alone.
    *(Column(name, Text) for name in FILTER_DIMENSIONS if name != "agent"),
    _int("first_in_conversation"),  # the agent's first episode in the conversation: their conversation counts here
    _time("assigned_at"),  # this agent's first assignment in the episode
    _time("first_reply_at"),
    Column("first_response_s", DOUBLE_PRECISION),  # from the request (first responder) or their assignment
    Column("handle_s", DOUBLE_PRECISION),  # their assignment → wrap-up or transfer away
    _int("replies"),
    _int("resolved"),  # they wrapped the episode up
    Index("analytics_agent_work_day", "day", "agent"),
    Index("analytics_agent_work_conversation", "conversation_id"),
)

# One row per ticket.
analytics_tickets = Table(
    "analytics_tickets",
    metadata,
    Column("ticket", Text, primary_key=True),
    Column("conversation_id", Text),
    Column("customer_id", Text),
    Column("created_at", DOUBLE_PRECISION, nullable=False),
    Column("day", Text, nullable=False),
    *_dimensions(),  # agent: the last assignee
    Column("status", Text),
    _time("first_response_due"),
    _time("first_response_at"),
    Column("first_response_s", DOUBLE_PRECISION),
    Column("first_response_bh_s", DOUBLE_PRECISION),
    _time("resolution_due"),  # the due time of the final resolution's clock
    _time("resolved_at"),  # first resolution
    Column("resolution_s", DOUBLE_PRECISION),  # created → first resolution
    Column("resolution_bh_s", DOUBLE_PRECISION),
    _time("final_resolved_at"),  # last resolution, when it stands (not reopened after it)
    Column("final_resolution_s", DOUBLE_PRECISION),
    _int("resolutions"),
    _int("reopened"),  # reopened within 7 days of a resolution
    _int("replies"),  # public replies, the first included
    _int("fcr"),  # resolved, never reopened, at most one public reply
    Index("analytics_tickets_day", "day"),
    Index("analytics_tickets_resolution_s", "day", "resolution_s"),
)


def _open_clocks(clock: str, stop: Column[float], due: Column[float]) -> Index:
    """A partial index of the tickets whose `clock` still runs: what the SLA table counts against `now` reads only
    these, since a stopped clock's outcome is fixed and rolled up per day."""
    running = stop.is_(None)
    return Index(
        f"analytics_tickets_open_{clock}", analytics_tickets.c.day, due, postgresql_where=running, sqlite_where=running
    )


OPEN_CLOCK_INDEXES = (
    _open_clocks("first_response", analytics_tickets.c.first_response_at, analytics_tickets.c.first_response_due),
    _open_clocks("resolution", analytics_tickets.c.final_resolved_at, analytics_tickets.c.resolution_due),
)

# One row per survey (every survey belongs to a conversation); the last answer wins.
analytics_surveys = Table(
    "analytics_surveys",
    metadata,
    Column("survey", Text, primary_key=True),
    Column("conversation_id", Text, nullable=False),
    Column("ticket", Text),
    Column("sent_at", DOUBLE_PRECISION, nullable=False),
    Column("day", Text, nullable=False),
    *_dimensions(),
    _time("answered_at"),
    Column("score", Integer),  # 1–5, the last one given
    Column("solved", Integer),  # 0/1, the last one given
    Index("analytics_surveys_day", "day"),
    Index("analytics_surveys_conversation", "conversation_id"),
)

# One row per KB decision of a bot turn and per "was this helpful?" answer (the last per conversation and entry).
analytics_kb = Table(
    "analytics_kb",
    metadata,
    Column("id", Text, primary_key=True),  # the event's id
    Column("conversation_id", Text, nullable=False),
    Column("at", DOUBLE_PRECISION, nullable=False),
    Column("day", Text, nullable=False),
    *_dimensions(),
    Column("decision", Text),  # answer | clarify | not_found; NULL on a feedback row
    Column("entry", Text),
    Column("query", Text),  # the customer's text as the KB saw it (not_found clusters), trimmed and lower-cased
    Column("helpful", Integer),  # 0/1 on a feedback row
    Index("analytics_kb_day", "day"),
    # The not-found texts and the unhelpful entries of a range, read from the index alone.
    Index("analytics_kb_not_found", "decision", "day", "query"),
    Index("analytics_kb_helpful", "helpful", "day", "entry"),
    Index("analytics_kb_conversation", "conversation_id"),
)

# The projector's cursor (and anything else it must remember between passes).
analytics_state = Table(
    "analytics_state",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", DOUBLE_PRECISION, nullable=False),
)

FACT_TABLES = (
    analytics_conversations,
    analytics_handoffs,
    analytics_agent_work,
    analytics_tickets,
    analytics_surveys,
    analytics_kb,
)


# -- daily rollups ----------------------------------------------------------------------------------------------------
# Per business day and combination of the few low-cardinality dimensions below, the sums of counters over one facts
# table (`analytics.rollups` defines each counter and refreshes them), so a year's report adds up thousands of rows,
# not millions. No primary key: a dimension may be NULL; the projector replaces a day's rows whole.
ROLLUP_DIMENSIONS = ("channel", "language", "team", "category", "priority")
BUCKET_COUNTERS = ("b0", "b1", "b2", "b3", "b4")  # the distribution buckets of analytics.metrics.BUCKETS
# Tickets' SLA clocks that have stopped, by their fixed outcome: met, or late (stopped after the due time).
SLA_COUNTERS = ("fr_met", "fr_late", "res_met", "res_late")
# Each facts table's counters, by the name of its rollups.
COUNTERS: dict[str, tuple[str, ...]] = {
    "conversations": ("n", "handed_off", "contained"),
    "handoffs": ("n", "abandoned", *BUCKET_COUNTERS),
    "tickets": ("n", "resolved", "reopened", "fcr", "complaints", *BUCKET_COUNTERS, *SLA_COUNTERS),
    "surveys": ("sent", "answered", "scored", "satisfied"),
    "kb": ("decisions", "answer", "clarify", "not_found", "feedback", "helpful"),
    "kb_terms": ("not_found", "unhelpful"),
    "agent_work": ("episodes", "conversations"),
}


def _rollup(name: str, keys: tuple[str, ...], counters: tuple[str, ...]) -> Table:
    return Table(
        name,
        metadata,
        Column("day", Text, nullable=False),
        *(Column(d, Text) for d in (*ROLLUP_DIMENSIONS, *keys)),
        *(_int(c) for c in counters),
        Index(f"{name}_day", "day"),
    )


ROLLUPS: dict[str, Table] = {
    "conversations": _rollup("analytics_daily_conversations", ("handoff_reason",), COUNTERS["conversations"]),
    "handoffs": _rollup("analytics_daily_handoffs", (), COUNTERS["handoffs"]),
    "tickets": _rollup("analytics_daily_tickets", (), COUNTERS["tickets"]),
    "surveys": _rollup("analytics_daily_surveys", (), COUNTERS["surveys"]),
    "kb": _rollup("analytics_daily_kb", (), COUNTERS["kb"]),
    # The KB lists: per not-found text and per entry found unhelpful (only the facts that count here are rolled up).
    "kb_terms": _rollup("analytics_daily_kb_terms", ("query", "entry"), COUNTERS["kb_terms"]),
}

# -- marginal rollups -------------------------------------------------------------------------------------------------
# What the daily rollups cannot answer without the facts — a report filtered by queue or agent, the per-agent tables,
# the filter options — kept per business day, *slice* and *group*: the facts whose filter `dimension` has one `value`
# (or every fact: dimension and value ALL), summed per value `item` of the column `per` (or all together: per and item
# ALL). `analytics.rollups` declares which (dimension, per) pairs each table keeps. A year of one slice and group is
# at most 365 rows per value of the group, however many conversations there are. No NULLs: a fact whose dimension or
# group is unknown is in no row of that pair (no filter could match it, no grouped list shows it).
ALL = ""


def _marginal(name: str, counters: tuple[str, ...]) -> Table:
    return Table(
        name,
        metadata,
        Column("day", Text, nullable=False),
        Column("dimension", Text, nullable=False),
        Column("value", Text, nullable=False),
        Column("per", Text, nullable=False),
        Column("item", Text, nullable=False),
        *(_int(c) for c in counters),
        Index(f"{name}_slice", "dimension", "value", "per", "day"),
        Index(f"{name}_day", "day"),
    )


MARGINALS: dict[str, Table] = {name: _marginal(f"analytics_marginal_{name}", c) for name, c in COUNTERS.items()}

# The duration histograms (`analytics.durations`): per block of business days (1, 4, 16, 64 or 256 days), slice (all
# facts, or one filter dimension at one value) and duration metric, the number of values in each bucket and the
# smallest and largest of them.
analytics_daily_durations = Table(
    "analytics_daily_durations",
    metadata,
    Column("day", Text, nullable=False),  # the first day of the block
    Column("span", Integer, nullable=False),  # the block's number of days (analytics.durations.SPANS)
    Column("dimension", Text, nullable=False),  # "" (all facts) or a filter dimension
    Column("value", Text, nullable=False),  # the dimension's value ("" for all facts)
    Column("metric", Text, nullable=False),  # analytics.durations.METRICS' names
    Column("bucket", Integer, nullable=False),  # analytics.durations.bucket_of
    _int("n"),
    Column("lo", DOUBLE_PRECISION, nullable=False),
    Column("hi", DOUBLE_PRECISION, nullable=False),
    # With the bucket last, so that a read of some buckets of a block's slice is one index range, and (PostgreSQL)
    # the counts in the index, so that it reads no table row where the pages are all visible (vacuumed).
    Index(
        "analytics_daily_durations_slice",
        "dimension",
        "span",
        "day",
        "metric",
        "value",
        "bucket",
        postgresql_include=["n", "lo", "hi"],
    ),
    Index("analytics_daily_durations_day", "span", "day"),
)

# The same histograms coarser: per block, slice and metric, the number of values in each group of
# `analytics.durations.GROUP_SIZE` consecutive buckets, so that finding which buckets hold a rank reads a few dozen
# rows per block and slice instead of a few hundred (`analytics.durations.histogram_percentiles`).
analytics_daily_duration_groups = Table(
    "analytics_daily_duration_groups",
    metadata,
    Column("day", Text, nullable=False),
    Column("span", Integer, nullable=False),
    Column("dimension", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("metric", Text, nullable=False),
    Column("bucket_group", Integer, nullable=False),  # analytics.durations.group_of(bucket)
    _int("n"),
    Index(
        "analytics_daily_duration_groups_slice",
        "dimension",
        "span",
        "day",
        "metric",
        "value",
        "bucket_group",
        postgresql_include=["n"],
    ),
    Index("analytics_daily_duration_groups_day", "span", "day"),
)

# Each day's exact p90 of a duration per slice (`analytics.durations.DAILY_P90`), for the charts' daily series.
analytics_daily_p90 = Table(
    "analytics_daily_p90",
    metadata,
    Column("day", Text, nullable=False),
    Column("dimension", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("metric", Text, nullable=False),
    Column("p90", DOUBLE_PRECISION, nullable=False),
    _int("n"),
    Index("analytics_daily_p90_slice", "dimension", "value", "metric", "day"),
    Index("analytics_daily_p90_day", "day"),
)
