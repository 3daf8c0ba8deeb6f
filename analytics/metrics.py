"""The metric registry: every KPI the dashboard, the API and the CSV export show, declared once.

Each `Kpi` has its stable key, unit ("count", "ratio", "seconds", "per_1000"), which way is better ("up", "down",
"none") and its one-line definition; docs/metrics.md spells each out in full (start event, stop event, exclusions).
`analytics.report` computes them; nothing else decides what a KPI means. Distribution buckets live here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from i18n import N_


@dataclass(frozen=True)
class Kpi:
    key: str
    unit: str
    better: str
    definition: str


KPIS: tuple[Kpi, ...] = (
    Kpi("conversations", "count", "none", "Conversations opened in the range (unique conversations)."),
    Kpi(
        "containment",
        "ratio",
        "up",
        "Share of conversations with no handoff request and no new conversation of "
        "the same customer within 24 h of opening.",
    ),
    Kpi("handoff_rate", "ratio", "down", "Share of conversations with at least one handoff request."),
    Kpi("abandonment_rate", "ratio", "down", "Share of handoff episodes the customer left while queued."),
    Kpi("queue_wait_p50", "seconds", "down", "Median wait from the handoff request to the first assignment."),
    Kpi("queue_wait_p90", "seconds", "down", "90th percentile of the queue wait."),
    Kpi("first_response_p50", "seconds", "down", "Median time from the handoff request to the first agent reply."),
    Kpi("first_response_p90", "seconds", "down", "90th percentile of the first response time (wall clock)."),
    Kpi("first_response_bh_p90", "seconds", "down", "90th percentile of the first response time in business hours."),
    Kpi(
        "next_reply_p50",
        "seconds",
        "down",
        "Median of the episodes' median wait from a customer message to the next agent reply, after the first reply.",
    ),
    Kpi("handle_p50", "seconds", "down", "Median time from the first assignment to the wrap-up, per resolved episode."),
    Kpi("tickets", "count", "none", "Tickets created in the range."),
    Kpi("resolution_p50", "seconds", "down", "Median time from a ticket's creation to its first resolution."),
    Kpi("resolution_p90", "seconds", "down", "90th percentile of the time to first resolution."),
    Kpi("sla_first_response", "ratio", "up", "Share of decided first-response clocks that met their due time."),
    Kpi("sla_resolution", "ratio", "up", "Share of decided resolution clocks that met their due time."),
    Kpi("reopen_rate", "ratio", "down", "Share of resolved tickets reopened within 7 days of a resolution."),
    Kpi("fcr", "ratio", "up", "Share of resolved tickets resolved with at most one public reply and never reopened."),
    Kpi("csat", "ratio", "up", "Share of 4 and 5 among survey scores (the last score of each survey)."),
    Kpi("survey_response_rate", "ratio", "up", "Share of surveys sent that were answered."),
    Kpi("complaint_rate", "per_1000", "down", "Service-complaint tickets per 1,000 conversations."),
    Kpi("kb_answer_rate", "ratio", "up", "Share of the bot's KB decisions that answered."),
    Kpi(
        "kb_helpful_rate",
        "ratio",
        "up",
        "Share of 'was this helpful?' answers that said yes (last per entry and conversation).",
    ),
)
KPI_KEYS = tuple(k.key for k in KPIS)

# Each KPI's name as people read it: a gettext message id (`N_`), translated where it is shown (the weekly page, a
# breach alert's title). The dashboard's script words them with the same English ids; a test keeps the two equal.
KPI_LABELS: Mapping[str, str] = {
    "conversations": N_("Conversations"),
    "containment": N_("Bot containment"),
    "handoff_rate": N_("Handoff rate"),
    "abandonment_rate": N_("Abandoned in queue"),
    "queue_wait_p50": N_("Queue wait p50"),
    "queue_wait_p90": N_("Queue wait p90"),
    "first_response_p50": N_("First response p50"),
    "first_response_p90": N_("First response p90"),
    "first_response_bh_p90": N_("First response p90 (business hours)"),
    "next_reply_p50": N_("Next reply p50"),
    "handle_p50": N_("Handle time p50"),
    "tickets": N_("Tickets"),
    "resolution_p50": N_("Resolution p50"),
    "resolution_p90": N_("Resolution p90"),
    "sla_first_response": N_("SLA met: first response"),
    "sla_resolution": N_("SLA met: resolution"),
    "reopen_rate": N_("Reopen rate (7 days)"),
    "fcr": N_("First-contact resolution"),
    "csat": N_("CSAT"),
    "survey_response_rate": N_("Survey response rate"),
    "complaint_rate": N_("Complaints per 1,000 conversations"),
    "kb_answer_rate": N_("KB answer rate"),
    "kb_helpful_rate": N_("KB helpful rate"),
}

# Distribution buckets: (label, lower bound in seconds, upper bound or None), lower inclusive, upper exclusive.
BUCKETS: tuple[tuple[str, float, float | None], ...] = (
    ("0-1h", 0.0, 3600.0),
    ("1-4h", 3600.0, 4 * 3600.0),
    ("4-8h", 4 * 3600.0, 8 * 3600.0),
    ("8-24h", 8 * 3600.0, 24 * 3600.0),
    ("24h+", 24 * 3600.0, None),
)
BUCKET_LABELS = tuple(b[0] for b in BUCKETS)

# A survey score at least this high counts as satisfied.
SATISFIED_SCORE = 4

__all__ = ["BUCKETS", "BUCKET_LABELS", "KPIS", "KPI_KEYS", "SATISFIED_SCORE", "Kpi"]
