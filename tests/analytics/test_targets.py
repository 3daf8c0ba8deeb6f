"""PDCA on SQLite and PostgreSQL: targets checked and kept, the report's KPIs marked against them (and the CSV with
them), breaches over a hand-made history raised exactly once per target and day, annotations in the report."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest

from analytics.annotations import AnnotationStore
from analytics.breaches import Breach, BreachWatcher
from analytics.exceptions import InvalidTarget
from analytics.export import report_rows
from analytics.query import ReportQuery
from analytics.report import Names, build_report
from analytics.targets import Target, TargetStore, applicable, format_value, parse_target
from backends.sql import Database
from kb.store import EntryDraft, FAQStore
from staff.weekly_page import change_text
from tests.analytics.story import CLOCKS, POLICY, TZ, Story, bj, kpi, report

DAY = "2026-11-02"  # a Monday
NOW = bj("2026-11-03", "12:00")


async def history(db: Database) -> None:
    """Two conversations on DAY: c1 (wechat, urgent) handed off, answered in 5 min; c2 (web) contained."""
    story = Story()
    story.opened("c1", "u1", bj(DAY, "10:00"), channel="wechat")
    story.handoff("c1", "u1", bj(DAY, "10:00"), priority="urgent")
    story.assigned("c1", "ann", bj(DAY, "10:01"))
    story.reply("c1", "ann", bj(DAY, "10:05"))
    story.wrap_up("c1", "ann", bj(DAY, "10:20"))
    story.opened("c2", "u2", bj(DAY, "11:00"))
    await story.save(db)


@pytest.mark.parametrize(
    ("kpi_key", "body", "code"),
    [
        ("nonsense", {"op": "<=", "value": 1}, "unknown_kpi"),
        ("csat", {"op": "<", "value": 0.9}, "bad_op"),
        ("csat", {"op": ">=", "value": 1.5}, "bad_value"),
        ("csat", {"op": ">=", "value": "0.9"}, "bad_value"),
        ("csat", {"op": ">=", "value": True}, "bad_value"),
        ("first_response_p90", {"op": "<=", "value": -1}, "bad_value"),
        ("first_response_p90", {"op": "<=", "value": float("nan")}, "bad_value"),
        ("csat", {"op": ">=", "value": 0.9, "scope": {"colour": "red"}}, "bad_scope"),
        ("csat", {"op": ">=", "value": 0.9, "scope": {"priority": "urgent", "channel": "web"}}, "bad_scope"),
        ("csat", {"op": ">=", "value": 0.9, "scope": "urgent"}, "bad_scope"),
        ("csat", {"op": ">=", "value": 0.9, "extra": 1}, "bad_body"),
        ("csat", [], "bad_body"),
    ],
)
def test_a_target_out_of_its_kpis_range_or_shape_is_refused_with_a_code(kpi_key: str, body: Any, code: str) -> None:
    with pytest.raises(InvalidTarget) as caught:
        parse_target(kpi_key, body)
    assert caught.value.code == code


def test_the_supervisors_examples_are_targets() -> None:
    urgent = parse_target("first_response_p90", {"op": "<=", "value": 3600, "scope": {"priority": "urgent"}})
    assert urgent == Target("first_response_p90", "<=", 3600.0, ("priority", "urgent"))
    assert parse_target("csat", {"op": ">=", "value": 0.9}).breached_by(0.85)
    assert not parse_target("containment", {"op": ">=", "value": 0.4}).breached_by(None)
    assert not urgent.breached_by(3600.0) and urgent.breached_by(3601.0)
    assert format_value("ratio", 0.9) == "90.0%" and format_value("seconds", 3600.0) == "60.0 min"


def test_values_read_in_the_members_language() -> None:
    assert [format_value("seconds", s, "zh") for s in (45.0, 3600.0, 9000.0)] == ["45 秒", "60.0 分钟", "2.5 小时"]
    assert change_text("ratio", 0.5, 0.4, "zh") == "+10.0 个百分点" and change_text("ratio", 0.4, 0.5) == "−10.0 pp"
    assert change_text("seconds", 600.0, 900.0, "zh") == "−5.0 分钟"


def test_a_scoped_target_wins_over_the_unscoped_one_only_in_its_scope() -> None:
    every = Target("csat", ">=", 0.9)
    urgent = Target("csat", ">=", 0.95, ("priority", "urgent"))
    assert applicable([urgent, every], {}) == {"csat": every}
    assert applicable([urgent, every], {"priority": "urgent"}) == {"csat": urgent}
    assert applicable([urgent], {"priority": "low"}) == {}


async def test_targets_are_set_replaced_and_cleared_each_change_annotated(database: Database) -> None:
    store = TargetStore(database, CLOCKS, clock=lambda: bj(DAY, "09:00"))
    await store.set(Target("csat", ">=", 0.8), "sam")
    await store.set(Target("csat", ">=", 0.9), "sam")
    await store.set(Target("csat", ">=", 0.95, ("priority", "urgent")), "sam")
    assert [(t.kpi, t.value, t.scope, t.set_by) for t in await store.all()] == [
        ("csat", 0.9, None, "sam"),
        ("csat", 0.95, ("priority", "urgent"), "sam"),
    ]
    assert await store.clear("csat", ("priority", "urgent"), "sam")
    assert not await store.clear("csat", ("priority", "urgent"), "sam")
    assert [t.scope for t in await store.all()] == [None]
    r = await report(database, DAY, DAY)
    assert [a["label"] for a in r["annotations"]] == [
        "target csat >= 0.8",
        "target csat >= 0.9",
        "target csat >= 0.95 (priority=urgent)",
        "target csat (priority=urgent) cleared",
    ]
    assert {a["kind"] for a in r["annotations"]} == {"target"} and r["annotations"][0]["day"] == DAY


async def test_the_reports_kpis_and_its_csv_carry_the_targets_and_breaches(database: Database) -> None:
    await history(database)
    store = TargetStore(database, CLOCKS)
    await store.set(Target("containment", ">=", 0.6), "sam")
    await store.set(Target("first_response_p90", "<=", 3600.0), "sam")
    await store.set(Target("csat", ">=", 0.9), "sam")
    r = await report(database, DAY, DAY)
    assert kpi(r, "containment")["target"] == {"op": ">=", "value": 0.6}
    assert kpi(r, "containment")["breached"] is True  # 1 of 2 contained
    assert kpi(r, "first_response_p90")["breached"] is False  # 300 s
    assert kpi(r, "csat")["breached"] is False  # nothing to measure
    assert "target" not in kpi(r, "conversations") and "breached" not in kpi(r, "conversations")
    rows = report_rows("kpis", r)
    header = rows[0]
    containment = dict(zip(header, next(row for row in rows if row[0] == "containment"), strict=True))
    assert (containment["target_op"], containment["target"], containment["breached"]) == (">=", 0.6, True)


async def test_a_breach_raises_one_alert_per_target_and_window_day(database: Database) -> None:
    await history(database)
    store = TargetStore(database, CLOCKS)
    await store.set(Target("containment", ">=", 0.6), "sam")  # 0.5: missed
    await store.set(Target("containment", ">=", 0.5, ("channel", "web")), "sam")  # 1.0: met
    await store.set(Target("containment", ">=", 0.5, ("channel", "wechat")), "sam")  # 0.0: missed
    await store.set(Target("first_response_p90", "<=", 60.0, ("priority", "urgent")), "sam")  # 300 s: missed
    await store.set(Target("csat", ">=", 0.9), "sam")  # no surveys: not breached
    told: list[Breach] = []

    class Notifier:
        async def breached(self, breach: Breach) -> None:
            told.append(breach)

    async def report_of(query: ReportQuery) -> Mapping[str, Any]:
        return await build_report(database, query, Names(), POLICY, NOW)

    watcher = BreachWatcher(database, report_of, Notifier(), TZ, window_days=7)
    first = await watcher.run_pass(NOW)
    again = await watcher.run_pass(NOW + 600)
    assert sorted(b.target.describe() for b in first) == [
        "containment >= 0.5 (channel=wechat)",
        "containment >= 0.6",
        "first_response_p90 <= 60 (priority=urgent)",
    ]
    assert again == [] and len(told) == 3
    urgent = next(b for b in first if b.target.kpi == "first_response_p90")
    assert (urgent.value, urgent.start, urgent.end) == (300.0, dt.date(2026, 10, 28), dt.date(2026, 11, 3))
    assert urgent.link == "/console/analytics?from=2026-10-28&to=2026-11-03&priority=urgent"
    assert urgent.to_dict()["scope"] == {"priority": "urgent"}
    # The next business day is a new window: each breach still standing is raised once more.
    next_day = await watcher.run_pass(bj("2026-11-04", "09:00"))
    assert len(next_day) == 3 and len(told) == 6


async def test_a_breach_whose_telling_failed_is_raised_on_the_next_pass(database: Database) -> None:
    await history(database)
    await TargetStore(database, CLOCKS).set(Target("containment", ">=", 0.6), "sam")
    calls: list[Breach] = []

    class Flaky:
        async def breached(self, breach: Breach) -> None:
            calls.append(breach)
            if len(calls) == 1:
                raise ConnectionError("alerts away")

    async def report_of(query: ReportQuery) -> Mapping[str, Any]:
        return await build_report(database, query, Names(), POLICY, NOW)

    watcher = BreachWatcher(database, report_of, Flaky(), TZ)
    assert await watcher.run_pass(NOW) == []
    assert len(await watcher.run_pass(NOW)) == 1
    assert await watcher.run_pass(NOW) == [] and len(calls) == 2


async def test_notes_and_faq_publications_are_annotations_of_their_days(database: Database) -> None:
    notes = AnnotationStore(database, CLOCKS, clock=lambda: bj(DAY, "08:00"))
    await notes.add("note", "  new <b>greeting</b> script  ", "sam")
    await notes.add("setting", "KB thresholds applied (zh)", "eve", day=dt.date(2026, 11, 3))
    with pytest.raises(InvalidTarget):
        await notes.add("note", "   ", "sam")
    with pytest.raises(InvalidTarget):
        await notes.add("gossip", "x", "sam")
    faq = FAQStore(database, clock=lambda: bj(DAY, "23:30"))
    entry = await faq.create(EntryDraft("How do I reset my password?", "Use the link.", "en"), "eve")
    await faq.publish(entry.id, "eve")
    archived_at = FAQStore(database, clock=lambda: bj("2026-11-04", "00:30"))
    await archived_at.archive(entry.id, "eve")

    r = await report(database, DAY, "2026-11-03")
    assert [(a["day"], a["kind"], a["label"]) for a in r["annotations"]] == [
        (DAY, "note", "new <b>greeting</b> script"),
        ("2026-11-03", "setting", "KB thresholds applied (zh)"),
        (DAY, "faq_published", f"{entry.id}: How do I reset my password?"),
    ]
    later = await report(database, "2026-11-04", "2026-11-04")
    assert [a["kind"] for a in later["annotations"]] == ["faq_archived"]


async def test_two_racing_passes_raise_each_breach_once(database: Database) -> None:
    await history(database)
    store = TargetStore(database, CLOCKS)
    await store.set(Target("containment", ">=", 0.6), "sam")
    await store.set(Target("handoff_rate", "<=", 0.1), "sam")
    told: list[Breach] = []

    class Notifier:
        async def breached(self, breach: Breach) -> None:
            told.append(breach)

    async def report_of(query: ReportQuery) -> Mapping[str, Any]:
        return await build_report(database, query, Names(), POLICY, NOW)

    watchers = [BreachWatcher(database, report_of, Notifier(), TZ) for _ in range(2)]
    first, second = await asyncio.gather(*(w.run_pass(NOW) for w in watchers))
    assert len(first) + len(second) == 2
    assert sorted(b.target.kpi for b in told) == ["containment", "handoff_rate"]
