"""A stand-in for the analytics JSON API (`/api/v1/analytics/report`, `/drill`, `/export.csv`) for the analytics
page's browser tests: a test-only middleware that answers those three paths with a fixed report in the shape of the
contract (docs: the analytics spec), and notes every request's query so a test can check what the page asked for.
Test code only: the product serves the real endpoints (staff/analytics_api.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

CUSTOMER_TEXT = "<img src=x onerror=alert(1)>"
BOM = "\ufeff"

KPIS: list[dict[str, Any]] = [
    {"key": "conversations", "value": 1234, "previous": 1100, "unit": "count", "better": "none", "n": 1234},
    {"key": "containment", "value": 0.62, "previous": 0.58, "unit": "ratio", "better": "up", "n": 1234},
    {"key": "handoff_rate", "value": 0.31, "previous": 0.33, "unit": "ratio", "better": "down", "n": 1234},
    {"key": "abandonment_rate", "value": 0.04, "previous": 0.03, "unit": "ratio", "better": "down", "n": 382},
    {"key": "queue_wait_p50", "value": 95.0, "previous": 120.0, "unit": "seconds", "better": "down", "n": 366},
    {"key": "queue_wait_p90", "value": 610.0, "previous": 540.0, "unit": "seconds", "better": "down", "n": 366},
    {"key": "first_response_p50", "value": 140.0, "previous": 150.0, "unit": "seconds", "better": "down", "n": 310},
    {
        "key": "first_response_p90",
        "value": 4100.0,
        "previous": 2400.0,
        "unit": "seconds",
        "better": "down",
        "n": 310,
        "target": {"op": "<=", "value": 3600},
        "breached": True,
    },
    {
        "key": "first_response_bh_p90",
        "value": 1820.0,
        "previous": 2100.0,
        "unit": "seconds",
        "better": "down",
        "n": 310,
    },
    {"key": "next_reply_p50", "value": 75.0, "previous": 80.0, "unit": "seconds", "better": "down", "n": 280},
    {"key": "handle_p50", "value": 610.0, "previous": 600.0, "unit": "seconds", "better": "down", "n": 300},
    {"key": "tickets", "value": 212, "previous": 230, "unit": "count", "better": "none", "n": 212},
    {"key": "resolution_p50", "value": 30600.0, "previous": 36000.0, "unit": "seconds", "better": "down", "n": 180},
    {"key": "resolution_p90", "value": 190800.0, "previous": 200000.0, "unit": "seconds", "better": "down", "n": 180},
    {"key": "sla_first_response", "value": 0.91, "previous": 0.88, "unit": "ratio", "better": "up", "n": 212},
    {"key": "sla_resolution", "value": 0.84, "previous": 0.86, "unit": "ratio", "better": "up", "n": 180},
    {"key": "reopen_rate", "value": 0.05, "previous": 0.06, "unit": "ratio", "better": "down", "n": 180},
    {"key": "fcr", "value": 0.71, "previous": 0.69, "unit": "ratio", "better": "up", "n": 180},
    {
        "key": "csat",
        "value": 0.92,
        "previous": 0.9,
        "unit": "ratio",
        "better": "up",
        "n": 150,
        "target": {"op": ">=", "value": 0.9},
        "breached": False,
    },
    {"key": "survey_response_rate", "value": 0.38, "previous": 0.35, "unit": "ratio", "better": "up", "n": 400},
    {"key": "complaint_rate", "value": 6.5, "previous": 7.2, "unit": "per_1000", "better": "down", "n": 1234},
    {"key": "kb_answer_rate", "value": 0.55, "previous": None, "unit": "ratio", "better": "up", "n": 2100},
    {"key": "kb_helpful_rate", "value": None, "previous": None, "unit": "ratio", "better": "up", "n": 0},
]
BUCKETS = ["0-1h", "1-4h", "4-8h", "8-24h", "24h+"]


def report(today: dt.date, days: int = 28) -> dict[str, Any]:
    """The contract's report for the `days` days ending `today`, with every KPI, chart and table filled."""
    first = today - dt.timedelta(days=days - 1)
    dates = [(first + dt.timedelta(days=i)).isoformat() for i in range(days)]
    volume = [30 + (i * 7) % 23 for i in range(days)]
    handoffs = [v // 3 for v in volume]
    return {
        "range": {"from": dates[0], "to": dates[-1], "days": days, "tz": "Asia/Shanghai"},
        "previous": {
            "from": (first - dt.timedelta(days=days)).isoformat(),
            "to": (first - dt.timedelta(days=1)).isoformat(),
        },
        "filters": dict.fromkeys(("channel", "language", "team", "queue", "category", "priority", "agent")),
        "options": {
            "channels": ["web", "wechat"],
            "languages": ["en", "zh"],
            "teams": [{"id": "t1", "name": "Billing desk"}, {"id": "t2", "name": "售后服务"}],
            "queues": ["en:general", "zh:billing"],
            "categories": ["product_fault", "delivery", "billing", "service_complaint"],
            "priorities": ["urgent", "high", "normal", "low"],
            "agents": [{"username": "ann", "display_name": "Ann"}, {"username": "li", "display_name": "李雷"}],
        },
        "kpis": KPIS,
        "series": {
            "days": dates,
            "conversations": volume,
            "handoffs": handoffs,
            "containment": [round(1 - h / v, 3) for v, h in zip(volume, handoffs, strict=True)],
            "tickets": [v // 6 for v in volume],
            "csat": [None if i % 9 == 4 else round(0.8 + (i % 5) * 0.04, 2) for i in range(days)],
            "first_response_p90": [1800.0 + (i % 6) * 300 for i in range(days)],
        },
        "distributions": {
            "buckets": BUCKETS,
            "first_response": [220, 50, 20, 12, 8],
            "resolution": [40, 55, 35, 30, 20],
        },
        "sla": [
            {"priority": "urgent", "clock": "first_response", "target_s": 3600, "met": 10, "missed": 2, "rate": 0.833},
            {"priority": "urgent", "clock": "resolution", "target_s": 14400, "met": 8, "missed": 3, "rate": 0.727},
            {"priority": "high", "clock": "first_response", "target_s": 14400, "met": 30, "missed": 3, "rate": 0.909},
            {"priority": "high", "clock": "resolution", "target_s": 86400, "met": 25, "missed": 6, "rate": 0.806},
            {"priority": "normal", "clock": "first_response", "target_s": 86400, "met": 140, "missed": 9, "rate": 0.94},
            {"priority": "normal", "clock": "resolution", "target_s": 259200, "met": 110, "missed": 20, "rate": 0.846},
        ],
        "mix": {
            "categories": [
                {"key": "product_fault", "count": 80},
                {"key": "delivery", "count": 60},
                {"key": "billing", "count": 45},
                {"key": "service_complaint", "count": 27},
            ],
            "channels": [{"key": "web", "count": 800}, {"key": "wechat", "count": 434}],
            "languages": [{"key": "zh", "count": 700}, {"key": "en", "count": 534}],
            "handoff_reasons": [
                {"key": "customer_request", "count": 140},
                {"key": "kb_not_found", "count": 90},
                {"key": "low_confidence", "count": 60},
                {"key": "complaint", "count": 40},
                {"key": "urgent_category", "count": 30},
                {"key": CUSTOMER_TEXT, "count": 5},  # a code the page does not know, shown as it is: as text
            ],
        },
        "agents": [
            {
                "agent": "ann",
                "display_name": "Ann",
                "conversations": 140,
                "first_response_p50": 62.0,
                "handle_p50": 600.0,
                "csat": 0.9,
                "csat_n": 40,
            },
            {
                "agent": "li",
                "display_name": "李雷",
                "conversations": 170,
                "first_response_p50": 95.0,
                "handle_p50": 540.0,
                "csat": 0.94,
                "csat_n": 52,
            },
        ],
        "teams": [
            {
                "team": "t1",
                "name": "Billing desk",
                "conversations": 150,
                "tickets": 90,
                "first_response_p50": 80.0,
                "resolution_p50": 28800.0,
                "csat": 0.91,
                "csat_n": 50,
            },
            {
                "team": "t2",
                "name": "售后服务",
                "conversations": 160,
                "tickets": 122,
                "first_response_p50": None,
                "resolution_p50": None,
                "csat": None,
                "csat_n": 0,
            },
        ],
        "kb": {
            "answer_rate": 0.55,
            "clarify_rate": 0.12,
            "not_found_rate": 0.33,
            "helpful_rate": 0.81,
            "not_found_top": [
                {"query": CUSTOMER_TEXT, "count": 7},
                {"query": "怎么开发票", "count": 5},
                {"query": "can I change the delivery address after paying", "count": 3},
            ],
            "unhelpful_entries": [{"entry": "faq-12", "title": "Refund times", "count": 4}],
        },
        "annotations": [],
    }


def empty_report(today: dt.date, days: int = 7) -> dict[str, Any]:
    """The report of a range with nothing in it: every KPI without a value, zero counts, empty lists."""
    full = report(today, days)
    nothing = {"value": None, "previous": None, "n": 0}
    return full | {
        "kpis": [
            {key: value for key, value in kpi.items() if key not in ("target", "breached")} | nothing for kpi in KPIS
        ],
        "series": {"days": full["series"]["days"]}
        | {key: [0] * days for key in ("conversations", "handoffs", "tickets")}
        | {key: [None] * days for key in ("containment", "csat", "first_response_p90")},
        "distributions": {"buckets": BUCKETS, "first_response": [0] * 5, "resolution": [0] * 5},
        "sla": [],
        "mix": {"categories": [], "channels": [], "languages": [], "handoff_reasons": []},
        "agents": [],
        "teams": [],
        "kb": dict.fromkeys(("answer_rate", "clarify_rate", "not_found_rate", "helpful_rate"))
        | {"not_found_top": [], "unhelpful_entries": []},
    }


class FixtureApi:
    """The stand-in: `middleware` answers the analytics paths; `queries` holds each request's (path, query). Drill
    rows point at `conversation_id` (set it once the test has made that conversation)."""

    def __init__(self, today: dt.date, *, empty: bool = False) -> None:
        self.report = empty_report(today) if empty else report(today)
        self.conversation_id = "conv-missing"
        self.queries: list[tuple[str, dict[str, str]]] = []

    def drill(self, query: dict[str, str]) -> dict[str, Any]:
        row = {
            "conversation_id": self.conversation_id,
            "ticket": None,
            "opened_at": 1764300000.0,
            "channel": "web",
            "language": "en",
            "customer": CUSTOMER_TEXT,
            "agent": "ann",
            "team": "t1",
            "category": "billing",
            "priority": "urgent",
            "value_s": 4100.0,
            "met": False,
            "link": f"/console/conversations/{self.conversation_id}",
        }
        ticket = row | {"ticket": "FD-000123", "link": "/console/tickets/FD-000123", "value_s": 190800.0}
        return {"kind": "conversation", "total": 2, "rows": [row, ticket]}

    def csv(self, table: str) -> str:
        lines = ["key,value,previous"] + [f"{k['key']},{k['value']},{k['previous']}" for k in self.report["kpis"]]
        if table == "agents":
            lines = ["agent,display_name,conversations"] + [
                f"{a['agent']},{a['display_name']},{a['conversations']}" for a in self.report["agents"]
            ]
        return BOM + "\r\n".join(lines) + "\r\n"

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not request.path.startswith("/api/v1/analytics/"):
            return await handler(request)
        query = dict(request.query)
        self.queries.append((request.path, query))
        if request.path == "/api/v1/analytics/report":
            return web.json_response(self.report)
        if request.path == "/api/v1/analytics/drill":
            return web.json_response(self.drill(query))
        if request.path == "/api/v1/analytics/export.csv":
            table = query.get("table", "kpis")
            name = f"frontdoor-{table}-{self.report['range']['from']}-{self.report['range']['to']}.csv"
            return web.Response(
                text=self.csv(table),
                content_type="text/csv",
                charset="utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        raise web.HTTPNotFound()

    def asked(self, path: str) -> list[dict[str, str]]:
        return [query for p, query in self.queries if p == path]
