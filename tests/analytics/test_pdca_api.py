"""PDCA over HTTP: targets (supervisors only; 400 with a code for every bad one), notes, the report carrying both,
the weekly page in English and Chinese (escaped, printable) and its CSV; and a breach told to a loopback webhook."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import staff
from alerts import AlertKind, AlertStore
from analytics.breaches import Breach
from analytics.metrics import KPI_KEYS, KPI_LABELS
from analytics.settings import AnalyticsConfig
from analytics.targets import Target
from bot.analytics_alerts import BreachAlerts
from bot.keys import ANALYTICS_ALERTS, DATABASE
from bot.settings import Settings
from kb.settings import KBConfig
from staff.auth import Role
from tests.analytics.story import ZONE, Story, bj
from tests.analytics.test_api import get, history
from tests.conftest import scripted_rasa, serving
from tests.console.conftest import Running, console_app, scripted_rasa_turn

WEEK = "2026-W45"  # Monday 2026-11-02 to Sunday 2026-11-08


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    async with scripted_rasa(scripted_rasa_turn) as rasa_url:
        settings = Settings(
            var_dir=tmp_path,
            rasa_url=rasa_url,
            kb=KBConfig(seed_demo=False, preload=False),
            analytics=AnalyticsConfig(project_s=0, target_check_s=0),
        )
        async with console_app(settings) as harness:
            yield harness


async def send(session: Any, method: str, path: str, body: Any = None, **params: str) -> tuple[int, Any]:
    async with session.request(method, path, json=body, params=params) as response:
        return response.status, await response.json()


async def test_only_supervisors_see_and_set_targets_notes_and_the_weekly_report(running: Running) -> None:
    ann = await running.staff("ann", Role.AGENT)
    eve = await running.staff("eve", Role.EDITOR)
    calls = [
        ("GET", "/api/v1/analytics/targets", None),
        ("PUT", "/api/v1/analytics/targets/csat", {"op": ">=", "value": 0.9}),
        ("DELETE", "/api/v1/analytics/targets/csat", None),
        ("POST", "/api/v1/analytics/annotations", {"text": "hello"}),
        ("GET", "/api/v1/analytics/weekly.csv", None),
    ]
    for member in (ann, eve):
        for method, path, body in calls:
            status, answer = await send(member.session, method, path, body)
            assert (status, "forbidden" in str(answer)) == (403, True), (method, path)
        async with member.session.get("/console/analytics/weekly") as response:
            assert response.status == 403
    async with aiohttp.ClientSession(base_url=running.url) as anonymous:
        status, _ = await send(anonymous, "GET", "/api/v1/analytics/targets")
        assert status == 401
        async with anonymous.get("/console/analytics/weekly", allow_redirects=False) as response:
            assert response.status == 303


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/api/v1/analytics/targets/nonsense", {"op": "<=", "value": 1}, "unknown_kpi"),
        ("/api/v1/analytics/targets/csat", {"op": "=", "value": 0.9}, "bad_op"),
        ("/api/v1/analytics/targets/csat", {"op": ">=", "value": 90}, "bad_value"),
        ("/api/v1/analytics/targets/first_response_p90", {"op": "<=", "value": -60}, "bad_value"),
        ("/api/v1/analytics/targets/csat", {"op": ">=", "value": 0.9, "scope": {"team": ""}, "x": 1}, "bad_body"),
        ("/api/v1/analytics/targets/csat", {"op": ">=", "value": 0.9, "scope": {"shoe": "42"}}, "bad_scope"),
    ],
)
async def test_a_bad_target_is_400_with_its_code(running: Running, path: str, body: Any, code: str) -> None:
    sam = await running.staff("sam", Role.SUPERVISOR)
    status, answer = await send(sam.session, "PUT", path, body)
    assert (status, answer["error"]["code"]) == (400, code)


async def test_bad_notes_weeks_and_clears_are_4xx(running: Running) -> None:
    sam = await running.staff("sam", Role.SUPERVISOR)
    for body, code in (
        ({"text": ""}, "bad_note"),
        ({"text": 3}, "bad_note"),
        ({"text": "x", "day": "soon"}, "bad_date"),
    ):
        status, answer = await send(sam.session, "POST", "/api/v1/analytics/annotations", body)
        assert status == 400 and code in json.dumps(answer), body
    # The last two were a 500 (the week after 9999-W52 leaves the calendar) and a week in Arabic-Indic digits.
    for week in ("2026-45", "2026-W54", "W45", "9999-W52", "\u0662\u0660\u0662\u0666-W48"):
        status, answer, _ = await get(sam.session, "/api/v1/analytics/weekly.csv", week=week)
        assert status == 400 and "bad_week" in json.dumps(answer), week
    status, answer, _ = await get(sam.session, "/api/v1/analytics/weekly.csv", week=WEEK, team="t1")
    assert status == 400 and "unknown_filter" in json.dumps(answer)
    status, answer = await send(sam.session, "DELETE", "/api/v1/analytics/targets/csat")
    assert status == 404
    status, answer = await send(sam.session, "DELETE", "/api/v1/analytics/targets/nonsense")
    assert status == 400 and "unknown_kpi" in json.dumps(answer)
    async with sam.session.put("/api/v1/analytics/targets/csat", data=b"{not json") as response:
        assert response.status == 400


async def test_targets_and_notes_reach_the_report_and_the_weekly_page_and_csv(running: Running) -> None:
    await history(running)
    sam = await running.staff("sam", Role.SUPERVISOR)
    status, stored = await send(
        sam.session, "PUT", "/api/v1/analytics/targets/first_response_p50", {"op": "<=", "value": 60}
    )
    assert status == 200 and stored["set_by"] == "sam" and stored["scope"] is None
    status, _ = await send(
        sam.session,
        "PUT",
        "/api/v1/analytics/targets/first_response_p90",
        {"op": "<=", "value": 3600, "scope": {"priority": "urgent"}},
    )
    assert status == 200
    status, note = await send(
        sam.session, "POST", "/api/v1/analytics/annotations", {"day": "2026-11-03", "text": "<script>x</script>"}
    )
    assert status == 201 and note["kind"] == "note"
    status, listed, _ = await get(sam.session, "/api/v1/analytics/targets")
    assert [(t["kpi"], t["scope"]) for t in listed["targets"]] == [
        ("first_response_p50", None),
        ("first_response_p90", {"priority": "urgent"}),
    ]
    assert [k["key"] for k in listed["kpis"]] == list(KPI_KEYS)

    status, report, _ = await get(sam.session, "/api/v1/analytics/report", **{"from": "2026-11-02", "to": "2026-11-08"})
    kpis = {k["key"]: k for k in report["kpis"]}
    assert kpis["first_response_p50"]["target"] == {"op": "<=", "value": 60.0}
    assert kpis["first_response_p50"]["breached"] is True  # 300 s
    assert "target" not in kpis["first_response_p90"]  # scoped to urgent; the report is unfiltered
    assert [a["label"] for a in report["annotations"] if a["kind"] == "note"] == ["<script>x</script>"]

    status, body, headers = await get(sam.session, "/api/v1/analytics/weekly.csv", week=WEEK)
    assert status == 200 and body.startswith("\ufeff".encode())
    assert headers["Content-Disposition"] == f'attachment; filename="frontdoor-weekly-{WEEK}.csv"'
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}
    assert (rows["first_response_p50"]["value"], rows["first_response_p50"]["breached"]) == ("300.0", "True")
    assert rows["conversations"]["value"] == str(kpis["conversations"]["value"])

    for lang, words in (("en", ("Weekly service report", "Missed", "First response p50")), ("zh", ("每周服务报告",))):
        async with sam.session.get("/console/analytics/weekly", params={"week": WEEK, "lang": lang}) as response:
            assert response.status == 200 and response.content_type == "text/html"
            page = await response.text()
        for word in words:
            assert word in page, (lang, word)
        assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
        assert "@media print" in page and "2026-11-02" in page and "2026-W44" in page and "2026-W46" in page

    status, _ = await send(sam.session, "DELETE", "/api/v1/analytics/targets/first_response_p90", priority="urgent")
    assert status == 200


def test_every_kpi_has_one_name_on_the_weekly_page_alerts_and_dashboard() -> None:
    assert list(KPI_LABELS) == list(KPI_KEYS)
    # The dashboard's script words each KPI with the same English message id as the registry.
    script = (Path(staff.__file__).parent / "static" / "analytics.js").read_text(encoding="utf-8")
    body = script[script.index("function kpiLabel(key)") :]
    body = body[: body.index("// drill-downs that are not KPIs")]
    assert dict(re.findall(r'(\w+): t\("([^"]+)"\)', body)) == dict(KPI_LABELS)


async def test_a_breach_alerts_the_supervisors_and_posts_to_the_webhook_once(running: Running) -> None:
    received: list[Any] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=204)

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    breach = Breach(Target("csat", ">=", 0.9), 0.75, dt.date(2026, 11, 2), dt.date(2026, 11, 8), 1.0)
    alerts = AlertStore(running.app[DATABASE])
    async with serving(receiver) as url, aiohttp.ClientSession() as session:
        await BreachAlerts(alerts, session, f"{url}/hook").breached(breach)
        # A webhook that is down is logged, never raised: the alert already stands.
        await BreachAlerts(alerts, session, "http://127.0.0.1:9/hook").breached(breach)
    assert received == [breach.to_dict()]
    assert received[0]["kpi"] == "csat" and received[0]["window"] == {"from": "2026-11-02", "to": "2026-11-08"}
    sam = await running.staff("sam", Role.SUPERVISOR)
    status, listed, _ = await get(sam.session, "/api/v1/staff/alerts")
    assert status == 200
    kinds = [a for a in listed["alerts"] if a["kind"] == AlertKind.KPI_BREACH]
    # The KPI is named in the reader's language, never by its key.
    assert kinds and kinds[0]["titles"]["en"] == "CSAT missed its target: 75.0% over the last days, target >= 90.0%"
    assert kinds[0]["titles"]["zh"] == "客户满意度 (CSAT)未达目标：近几日为 75.0%，目标 >= 90.0%"
    assert kinds[0]["link"] == "/console/analytics?from=2026-11-02&to=2026-11-08"


async def test_the_apps_check_raises_a_breach_once_under_its_lock(tmp_path: Path) -> None:
    today = dt.datetime.now(ZONE).date()
    day = (today - dt.timedelta(days=1)).isoformat()
    async with scripted_rasa(scripted_rasa_turn) as rasa_url:
        settings = Settings(
            var_dir=tmp_path,
            rasa_url=rasa_url,
            kb=KBConfig(seed_demo=False, preload=False),
            analytics=AnalyticsConfig(project_s=0, target_check_s=3600),
        )
        async with console_app(settings) as running:
            story = Story()
            story.opened("c1", "u1", bj(day, "10:00"))
            story.handoff("c1", "u1", bj(day, "10:00"))
            await story.save(running.app[DATABASE])
            sam = await running.staff("sam", Role.SUPERVISOR)
            status, _ = await send(
                sam.session, "PUT", "/api/v1/analytics/targets/handoff_rate", {"op": "<=", "value": 0.25}
            )
            assert status == 200
            job = running.app[ANALYTICS_ALERTS]
            raised = await job.run_once()
            assert raised is not None and [b.target.kpi for b in raised] == ["handoff_rate"]
            assert await job.run_once() == []
            status, listed, _ = await get(sam.session, "/api/v1/staff/alerts", lang="zh")
            breaches = [a for a in listed["alerts"] if a["kind"] == "kpi_breach"]
            assert len(breaches) == 1
            assert breaches[0]["titles"]["zh"] == "转人工率未达目标：近几日为 100.0%，目标 <= 25.0%"
