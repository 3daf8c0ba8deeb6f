"""The drill-down: which conversations or tickets stand behind a number of the report. `parse_drill(params)` checks
the drill's own parameters, `drill(db, query, ask, now)` answers with the spec's `{kind, total, rows}`.

Each metric names its facts table and the condition the report counted it with (`analytics.report`'s definitions:
the same SLA conditions, the same distribution buckets), so a drill list's total equals the number it came from.
Rows are the facts as stored; customer-typed text is returned as-is (pages render it as text). Must never read live
state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, case, func, select

from analytics.exceptions import InvalidReportQuery
from analytics.metrics import BUCKET_LABELS, KPI_KEYS, SATISFIED_SCORE
from analytics.query import ReportQuery
from analytics.report import sla_met
from analytics.rollups import COMPLAINT, bucket_condition
from analytics.tables import (
    analytics_conversations,
    analytics_handoffs,
    analytics_kb,
    analytics_surveys,
    analytics_tickets,
)
from backends.sql import SQL

C, H, T, S, B = analytics_conversations, analytics_handoffs, analytics_tickets, analytics_surveys, analytics_kb
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
DRILL_PARAMETERS = ("metric", "bucket", "day", "key", "clock", "met", "limit", "offset")
EXTRA_METRICS = (
    "volume",
    "first_response",
    "resolution",
    "sla",
    "category",
    "handoff_reason",
    "channel",
    "language",
    "kb_not_found",  # key: a not-found text of the KB list (as lower-cased there)
    "kb_unhelpful",  # key: an FAQ entry id of the KB list
)
METRICS = (*KPI_KEYS, *EXTRA_METRICS)
# Metrics whose list is of handoff episodes, and the duration each shows as `value_s`.
_EPISODE_VALUES = {
    "queue_wait_p50": H.c.queue_wait_s,
    "queue_wait_p90": H.c.queue_wait_s,
    "first_response_p50": H.c.first_response_s,
    "first_response_p90": H.c.first_response_s,
    "first_response": H.c.first_response_s,
    "first_response_bh_p90": H.c.first_response_bh_s,
    "next_reply_p50": H.c.next_reply_s,
    "handle_p50": H.c.handle_s,
    "abandonment_rate": H.c.queue_wait_s,
}
_TICKET_METRICS = {
    "tickets",
    "resolution_p50",
    "resolution_p90",
    "resolution",
    "sla",
    "sla_first_response",
    "sla_resolution",
    "reopen_rate",
    "fcr",
    "category",
    "complaint_rate",
}
_SURVEY_METRICS = {"csat", "survey_response_rate"}
_KB_METRICS = {"kb_answer_rate", "kb_helpful_rate", "kb_not_found", "kb_unhelpful"}
# Which KB facts each KB drill lists (the rows the report's rate or list counted).
_KB_CONDITIONS = {
    "kb_answer_rate": B.c.decision.is_not(None),
    "kb_helpful_rate": B.c.helpful.is_not(None),
    "kb_not_found": B.c.decision == "not_found",
    "kb_unhelpful": B.c.helpful == 0,
}


@dataclass(frozen=True)
class DrillAsk:
    """What to list: the metric, narrowed to a distribution bucket, a day, a mix key, or an SLA clock and outcome."""

    metric: str
    bucket: str | None = None
    day: str | None = None
    key: str | None = None
    clock: str | None = None
    met: bool | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def _int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise InvalidReportQuery(f"'{name}' must be a whole number", f"bad_{name}") from None
    if not low <= number <= high:
        raise InvalidReportQuery(f"'{name}' must be {low}..{high}", f"bad_{name}")
    return number


def parse_drill(params: Mapping[str, str], query: ReportQuery) -> DrillAsk:
    """The drill parameters of `params` (the range and filters are `query`'s). Raises InvalidReportQuery."""
    metric = params.get("metric", "")
    if metric not in METRICS:
        raise InvalidReportQuery(f"'metric' must be one of {', '.join(METRICS)}", "bad_metric")
    bucket = params.get("bucket") or None
    if bucket is not None and bucket not in BUCKET_LABELS:
        raise InvalidReportQuery(f"'bucket' must be one of {', '.join(BUCKET_LABELS)}", "bad_bucket")
    day = params.get("day") or None
    if day is not None:
        try:
            date = dt.date.fromisoformat(day)
        except ValueError:
            raise InvalidReportQuery("'day' must be a date YYYY-MM-DD", "bad_date") from None
        if not query.start <= date <= query.end:
            raise InvalidReportQuery("'day' must lie in the range", "bad_date")
        day = date.isoformat()
    clock = params.get("clock") or None
    if clock is not None and clock not in ("first_response", "resolution"):
        raise InvalidReportQuery("'clock' must be first_response or resolution", "bad_clock")
    met_text = params.get("met") or None
    if met_text is not None and met_text not in ("true", "false", "1", "0"):
        raise InvalidReportQuery("'met' must be true or false", "bad_met")
    return DrillAsk(
        metric=metric,
        bucket=bucket,
        day=day,
        key=params.get("key") or None,
        clock=clock,
        met=None if met_text is None else met_text in ("true", "1"),
        limit=_int(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        offset=_int(params, "offset", 0, 0, 10_000_000),
    )


def _key_column(table: Table, metric: str) -> ColumnElement[Any] | None:
    name = {
        "category": "category",
        "channel": "channel",
        "language": "language",
        "handoff_reason": "handoff_reason",
        "kb_not_found": "query",
        "kb_unhelpful": "entry",
    }
    return table.c[name[metric]] if metric in name and name[metric] in table.c else None


async def drill(db: SQL, query: ReportQuery, ask: DrillAsk, now: float) -> dict[str, Any]:
    """{kind: "conversation" | "ticket", total, rows} for `ask` over `query`."""
    metric = ask.metric
    met_value: ColumnElement[Any] | None = None
    order: list[ColumnElement[Any]]
    if metric in _EPISODE_VALUES:
        table, kind, value = H, "conversation", _EPISODE_VALUES[metric]
        where = [*query.where(H)]
        if metric == "abandonment_rate":
            where.append(H.c.abandoned == 1)
        else:
            where.append(value.is_not(None))
        at = H.c.requested_at
        order = [value.desc(), at.desc()]
    elif metric in _TICKET_METRICS:
        table, kind, at = T, "ticket", T.c.created_at
        value = T.c.first_response_s if ask.clock == "first_response" else T.c.resolution_s
        where = [*query.where(T)]
        if metric in ("reopen_rate", "fcr"):
            where += [T.c.resolutions > 0, *([T.c.reopened == 1] if metric == "reopen_rate" else [])]
        if metric == "complaint_rate":
            where.append(T.c.category == COMPLAINT)
        if metric.startswith("resolution"):
            where.append(T.c.resolution_s.is_not(None))
        clock = ask.clock or {"sla_first_response": "first_response", "sla_resolution": "resolution"}.get(metric)
        if clock is not None:
            met, missed = sla_met(T, clock, now)
            met_value = case((met, 1), (missed, 0), else_=None)
            if ask.met is True:
                where.append(met)
            elif ask.met is False:
                where.append(missed)
            elif metric.startswith("sla"):
                where.append(met | missed)
        order = [value.desc(), at.desc()] if metric.startswith("resolution") else [at.desc()]
    elif metric in _SURVEY_METRICS:
        table, kind, at, value = S, "conversation", S.c.sent_at, None
        where = [*query.where(S), *([S.c.score.is_not(None)] if metric == "csat" else [])]
        met_value = case((S.c.score >= SATISFIED_SCORE, 1), (S.c.score.is_not(None), 0), else_=None)
        order = [at.desc()]
    elif metric in _KB_METRICS:
        table, kind, at, value = B, "conversation", B.c.at, None
        where = [*query.where(B), _KB_CONDITIONS[metric]]
        met_value = B.c.helpful if metric == "kb_helpful_rate" else case((B.c.decision == "answer", 1), else_=0)
        order = [at.desc()]
    else:
        table, kind, at, value = C, "conversation", C.c.opened_at, None
        where = [*query.where(C)]
        flag = {"containment": C.c.contained, "handoff_rate": C.c.handed_off}.get(metric)
        if flag is not None:
            where.append(flag == 1)
        order = [at.desc()]
    if ask.bucket is not None and value is not None:
        where.append(bucket_condition(value, ask.bucket))
    if ask.day is not None:
        where.append(table.c.day == ask.day)
    key_column = _key_column(table, metric)
    if ask.key is not None and key_column is not None:
        where.append(key_column == ask.key)
    total = int(await db.fetchval(select(func.count()).select_from(table).where(*where)) or 0)
    columns = [
        table.c.conversation_id.label("conversation_id"),
        (table.c.ticket if "ticket" in table.c else _null()).label("ticket"),
        at.label("opened_at"),
        *(table.c[name].label(name) for name in ("channel", "language", "agent", "team", "category", "priority")),
        (table.c.customer_id if "customer_id" in table.c else _null()).label("customer"),
        (value if value is not None else _null()).label("value_s"),
        (met_value if met_value is not None else _null()).label("met"),
    ]
    statement = select(*columns).where(*where).order_by(*order).limit(ask.limit).offset(ask.offset)
    rows = [_row(kind, r) for r in await db.fetch(statement)]
    return {"kind": kind, "total": total, "rows": rows}


def _null() -> ColumnElement[Any]:
    return func.nullif(1, 1)


def _row(kind: str, r: Mapping[str, Any]) -> dict[str, Any]:
    ticket = r["ticket"]
    link = f"/console/tickets/{ticket}" if kind == "ticket" else f"/console/conversations/{r['conversation_id']}"
    return {
        "conversation_id": r["conversation_id"],
        "ticket": ticket,
        "opened_at": float(r["opened_at"]),
        "channel": r["channel"],
        "language": r["language"],
        "customer": r["customer"],
        "agent": r["agent"],
        "team": r["team"],
        "category": r["category"],
        "priority": r["priority"],
        "value_s": None if r["value_s"] is None else float(r["value_s"]),
        "met": None if r["met"] is None else bool(r["met"]),
        "link": link,
    }


__all__ = ["DRILL_PARAMETERS", "MAX_LIMIT", "METRICS", "DrillAsk", "drill", "parse_drill"]
