"""The analytics endpoints over HTTP: supervisors only; every bad parameter a 400 with its code, never a 500; the
report, a drill-down whose total equals its card, and CSV exports (BOM, file name) whose numbers equal the report's."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from analytics.settings import AnalyticsConfig
from bot.keys import DATABASE, INTAKE
from bot.settings import Settings
from kb.settings import KBConfig
from record import SQLServiceRecord
from staff.auth import Role
from tests.analytics.story import Story, bj
from tests.conftest import scripted_rasa
from tests.console.conftest import Running, console_app, scripted_rasa_turn

DAY = "2026-11-02"
RANGE = {"from": DAY, "to": "2026-11-03"}


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    async with scripted_rasa(scripted_rasa_turn) as rasa_url:
        settings = Settings(
            var_dir=tmp_path,
            rasa_url=rasa_url,
            kb=KBConfig(seed_demo=False, preload=False),
            # No loop: each test runs the projector itself, when its history is written.
            analytics=AnalyticsConfig(project_s=0),
        )
        async with console_app(settings) as harness:
            yield harness


async def history(running: Running) -> None:
    story = Story()
    story.opened("c1", "u1", bj(DAY, "10:00"), channel="wechat", language="zh")
    story.handoff("c1", "u1", bj(DAY, "10:00"))
    story.assigned("c1", "ann", bj(DAY, "10:01"))
    story.reply("c1", "ann", bj(DAY, "10:05"))
    story.wrap_up("c1", "ann", bj(DAY, "10:20"))
    story.opened("c2", "u2", bj("2026-11-03", "09:00"))
    story.ticket("T-1", bj(DAY, "11:00"), priority="urgent", fr_due=bj(DAY, "12:00"), res_due=bj(DAY, "15:00"))
    story.ticket_reply("T-1", "ann", bj(DAY, "13:00"), first=True, due=bj(DAY, "12:00"))
    db = running.app[DATABASE]
    await SQLServiceRecord(db).append(story.events)
    settings = AnalyticsConfig()
    await settings.projector(db, running.app[INTAKE].calendar).run_pass()


async def get(session: Any, path: str, **params: str) -> tuple[int, Any, Any]:
    async with session.get(path, params=params) as response:
        body = await response.read()
        if response.content_type == "application/json":
            return response.status, json.loads(body), response.headers
        return response.status, body, response.headers


async def test_only_supervisors_read_analytics(running: Running) -> None:
    ann = await running.staff("ann", Role.AGENT)
    eve = await running.staff("eve", Role.EDITOR)
    for staff in (ann, eve):
        for path in ("/api/v1/analytics/report", "/api/v1/analytics/drill", "/api/v1/analytics/export.csv"):
            status, body, _ = await get(staff.session, path, metric="volume", table="kpis")
            assert (status, "forbidden" in str(body)) == (403, True), path
    async with aiohttp.ClientSession(base_url=running.url) as anonymous:
        status, _, _ = await get(anonymous, "/api/v1/analytics/report")
        assert status == 401


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": "2026-13-01"}, "bad_date"),
        ({"from": "yesterday"}, "bad_date"),
        ({"from": "2026-11-10", "to": "2026-11-01"}, "reversed_range"),
        ({"from": "2016-01-01", "to": "2026-01-01"}, "range_too_long"),
        ({"colour": "red"}, "unknown_filter"),
        ({"channel": "x" * 500}, "bad_filter"),
    ],
)
async def test_bad_report_parameters_are_400_with_a_code(running: Running, params: dict[str, str], code: str) -> None:
    sam = await running.staff("sam", Role.SUPERVISOR)
    status, body, _ = await get(sam.session, "/api/v1/analytics/report", **params)
    assert status == 400
    assert code in str(body)


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/api/v1/analytics/drill", {"metric": "nonsense"}, "bad_metric"),
        ("/api/v1/analytics/drill", {"metric": "first_response", "bucket": "2-3h"}, "bad_bucket"),
        ("/api/v1/analytics/drill", {"metric": "volume", "limit": "5000"}, "bad_limit"),
        ("/api/v1/analytics/drill", {"metric": "volume", "offset": "-1"}, "bad_offset"),
        ("/api/v1/analytics/drill", {"metric": "volume", "day": "2020-01-01", **RANGE}, "bad_date"),
        ("/api/v1/analytics/drill", {"metric": "sla", "met": "maybe"}, "bad_met"),
        ("/api/v1/analytics/export.csv", {"table": "passwords"}, "bad_table"),
        ("/api/v1/analytics/export.csv", {"table": "kpis", "metric": "volume"}, "unknown_filter"),
    ],
)
async def test_bad_drill_and_export_parameters_are_400(
    running: Running, path: str, params: dict[str, str], code: str
) -> None:
    sam = await running.staff("sam", Role.SUPERVISOR)
    status, body, _ = await get(sam.session, path, **params)
    assert status == 400
    assert code in str(body)


async def test_a_repeated_parameter_is_400(running: Running) -> None:
    sam = await running.staff("sam", Role.SUPERVISOR)
    async with sam.session.get("/api/v1/analytics/report?from=2026-11-01&from=2026-11-02") as response:
        assert response.status == 400
        assert "repeated_parameter" in await response.text()


async def test_the_report_drill_and_exports_agree(running: Running) -> None:
    await history(running)
    sam = await running.staff("sam", Role.SUPERVISOR)
    await running.staff("ann", Role.AGENT, display_name="Ann")
    status, report, _ = await get(sam.session, "/api/v1/analytics/report", **RANGE)
    assert status == 200
    kpis = {k["key"]: k for k in report["kpis"]}
    assert kpis["conversations"]["value"] == 2
    assert kpis["first_response_p50"]["value"] == 300.0
    assert report["agents"][0] | {} == {**report["agents"][0], "agent": "ann", "display_name": "Ann"}
    assert report["options"]["channels"] == ["web", "wechat"]

    status, drill, _ = await get(sam.session, "/api/v1/analytics/drill", metric="volume", **RANGE)
    assert (status, drill["kind"], drill["total"]) == (200, "conversation", kpis["conversations"]["value"])
    assert drill["rows"][0]["link"] == "/console/conversations/c2"
    status, missed, _ = await get(
        sam.session,
        "/api/v1/analytics/drill",
        metric="sla",
        priority="urgent",
        clock="first_response",
        met="false",
        **RANGE,
    )
    assert status == 200 and missed["kind"] == "ticket"
    assert [(r["ticket"], r["met"], r["link"]) for r in missed["rows"]] == [("T-1", False, "/console/tickets/T-1")]

    status, body, headers = await get(sam.session, "/api/v1/analytics/export.csv", table="kpis", **RANGE)
    assert status == 200
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    assert headers["Content-Disposition"] == 'attachment; filename="frontdoor-kpis-2026-11-02-2026-11-03.csv"'
    assert body.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert {r["key"]: r["value"] for r in rows}["conversations"] == "2"
    status, body, _ = await get(sam.session, "/api/v1/analytics/export.csv", table="daily", **RANGE)
    daily = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert sum(int(r["conversations"]) for r in daily) == 2
    status, body, _ = await get(sam.session, "/api/v1/analytics/export.csv", table="conversations", **RANGE)
    raw = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [(r["conversation_id"], r["opened_at"]) for r in raw] == [
        ("c1", "2026-11-02 10:00:00"),
        ("c2", "2026-11-03 09:00:00"),
    ]
