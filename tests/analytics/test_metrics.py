"""Each metric against a hand-computed history, on SQLite and PostgreSQL: the issue's cases (first response from the
handoff five days later, a Friday 16:30 ticket with a one-business-hour target, days in Beijing time, a transfer
counted once, bot messages never agent replies, one answer per survey) and the rest of the report's KPIs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text

from analytics import report as report_module
from analytics.drill import DrillAsk, drill
from analytics.metrics import KPI_KEYS
from analytics.query import ReportQuery
from backends.sql import Database
from intake.models import Priority
from intake.sla import epoch_to_utc
from record import SQLServiceRecord
from tests.analytics.story import CALENDAR, POLICY, K, Story, bj, kpi, report

DAY = "2026-11-02"  # a Monday


async def test_first_response_counts_from_the_handoff_five_days_later_not_from_the_conversation(
    database: Database,
) -> None:
    story = Story()
    story.opened("c1", "u1", bj(DAY, "10:00"))
    story.bot_turn("c1", bj(DAY, "10:00:05"), "answer", "faq-1")
    later = "2026-11-07"
    story.customer_says("c1", bj(later, "10:00"))
    story.handoff("c1", "u1", bj(later, "10:00"))
    story.assigned("c1", "ann", bj(later, "10:01"))
    story.reply("c1", "ann", bj(later, "10:02"))
    story.wrap_up("c1", "ann", bj(later, "10:10"))
    await story.save(database)
    r = await report(database, DAY, later)
    assert kpi(r, "first_response_p50")["value"] == 120.0
    assert kpi(r, "queue_wait_p50")["value"] == 60.0
    assert kpi(r, "handle_p50")["value"] == 540.0
    assert kpi(r, "handoff_rate")["value"] == 1.0
    assert kpi(r, "containment")["value"] == 0.0


async def test_a_friday_1630_ticket_with_a_one_business_hour_target_is_due_monday_0930(database: Database) -> None:
    created = bj("2026-11-06", "16:30")  # Friday
    due = POLICY.first_response_due(Priority.URGENT, epoch_to_utc(created)).timestamp()
    assert due == bj("2026-11-09", "09:30")
    story = Story()
    res_due = POLICY.resolution_due(Priority.URGENT, epoch_to_utc(created)).timestamp()
    story.ticket("T-1", created, priority="urgent", fr_due=due, res_due=res_due)
    story.ticket_reply("T-1", "ann", bj("2026-11-09", "09:20"), first=True, due=due)
    story.ticket("T-2", created, priority="urgent", fr_due=due, res_due=res_due)
    story.ticket_reply("T-2", "ann", bj("2026-11-09", "10:00"), first=True, due=due)
    await story.save(database)
    rows = await database.fetch(
        text("SELECT ticket, first_response_s, first_response_bh_s FROM analytics_tickets ORDER BY ticket")
    )
    # Wall clock: Friday 16:30 → Monday 09:20 is 64 h 50 min; business time: 30 min Friday + 20 min Monday.
    assert [(r["ticket"], r["first_response_s"], r["first_response_bh_s"]) for r in rows] == [
        ("T-1", 64 * 3600 + 50 * 60, 50 * 60),
        ("T-2", 65 * 3600 + 30 * 60, 90 * 60),
    ]
    r = await report(database, "2026-11-06", "2026-11-09", now=bj("2026-11-09", "12:00"))
    urgent = [row for row in r["sla"] if row["priority"] == "urgent" and row["clock"] == "first_response"]
    assert urgent == [
        {"priority": "urgent", "clock": "first_response", "target_s": 3600.0, "met": 1, "missed": 1, "rate": 0.5}
    ]
    # The resolution clock (Monday 12:30) is still running at noon: neither met nor missed yet.
    assert kpi(r, "sla_first_response")["value"] == 0.5
    assert kpi(r, "sla_resolution")["value"] is None
    assert CALENDAR.timezone == "Asia/Shanghai"


async def test_events_at_2330_and_0030_beijing_time_fall_on_different_days(database: Database) -> None:
    story = Story()
    story.opened("late", "u1", bj("2026-11-02", "23:30"))
    story.opened("early", "u2", bj("2026-11-03", "00:30"))
    await story.save(database)
    r = await report(database, "2026-11-02", "2026-11-03")
    assert r["series"]["days"] == ["2026-11-02", "2026-11-03"]
    assert r["series"]["conversations"] == [1, 1]
    assert r["range"]["tz"] == "Asia/Shanghai"


async def test_a_conversation_transferred_between_two_agents_counts_once(database: Database) -> None:
    story = Story()
    story.opened("c1", "u1", bj(DAY, "10:00"))
    story.handoff("c1", "u1", bj(DAY, "10:00"))
    story.assigned("c1", "ann", bj(DAY, "10:01"))
    story.reply("c1", "ann", bj(DAY, "10:03"))
    story.transfer("c1", "ann", "bob", bj(DAY, "10:05"))
    story.reply("c1", "bob", bj(DAY, "10:06"))
    story.wrap_up("c1", "bob", bj(DAY, "10:11"))
    await story.save(database)
    r = await report(database, DAY, DAY)
    assert kpi(r, "conversations")["value"] == 1
    assert kpi(r, "first_response_p50") | {"n": 1} == kpi(r, "first_response_p50")
    assert kpi(r, "first_response_p50")["value"] == 180.0
    assert kpi(r, "handle_p50")["value"] == 600.0  # first assignment → wrap-up, once
    episodes = await database.fetch(text("SELECT resolved, transfers, agents FROM analytics_handoffs"))
    assert [dict(e) for e in episodes] == [{"resolved": 1, "transfers": 1, "agents": 2}]
    agents = {a["agent"]: a for a in r["agents"]}
    # Each answered it, so each handled it; bob's first response counts from his assignment, ann's from the request.
    assert {a: (row["conversations"], row["first_response_p50"]) for a, row in agents.items()} == {
        "ann": (1, 180.0),
        "bob": (1, 60.0),
    }
    assert agents["ann"]["handle_p50"] == 240.0 and agents["bob"]["handle_p50"] == 360.0


async def test_a_ticket_passed_between_teams_and_agents_counts_once_in_resolutions(database: Database) -> None:
    story = Story()
    t0 = bj(DAY, "10:00")
    story.ticket("T-1", t0, fr_due=t0 + 86400, res_due=t0 + 3 * 86400, team="billing")
    story.add(K.TICKET_ASSIGNED, t0 + 60, "agent:sam", ticket="T-1", agent="ann", data={"from": None, "to": "ann"})
    story.add(K.TICKET_TRANSFERRED, t0 + 120, "agent:ann", ticket="T-1", team="delivery", data={"to": "delivery"})
    story.add(K.TICKET_ASSIGNED, t0 + 180, "agent:sam", ticket="T-1", agent="bob", data={"from": "ann", "to": "bob"})
    story.ticket_reply("T-1", "bob", t0 + 600, first=True, due=t0 + 86400)
    story.resolved("T-1", t0 + 3600, due=t0 + 3 * 86400)
    await story.save(database)
    r = await report(database, DAY, DAY)
    assert kpi(r, "tickets")["value"] == 1
    assert kpi(r, "resolution_p50")["value"] == 3600.0
    assert kpi(r, "fcr") | {} == {**kpi(r, "fcr"), "value": 1.0, "n": 1}
    assert [(t["team"], t["tickets"]) for t in r["teams"]] == [("delivery", 1)]
    assert kpi(r, "sla_resolution")["value"] == 1.0


async def test_bot_messages_never_count_as_agent_replies(database: Database) -> None:
    story = Story()
    story.opened("c1", "u1", bj(DAY, "10:00"))
    story.handoff("c1", "u1", bj(DAY, "10:00"))
    story.bot_turn("c1", bj(DAY, "10:00:30"))  # the bot still talks while the customer waits
    story.add(K.AGENT_REPLY, bj(DAY, "10:01"), "bot", conversation_id="c1")  # not an agent's, whatever its kind
    story.assigned("c1", "ann", bj(DAY, "10:02"))
    story.reply("c1", "ann", bj(DAY, "10:05"))
    await story.save(database)
    r = await report(database, DAY, DAY)
    assert kpi(r, "first_response_p50")["value"] == 300.0
    assert [(a["agent"], a["conversations"]) for a in r["agents"]] == [("ann", 1)]


async def test_the_same_customer_rating_twice_keeps_one_answer_the_last(database: Database) -> None:
    story = Story()
    story.opened("c1", "u1", bj(DAY, "10:00"))
    story.survey("c1", "s1", "ann", bj(DAY, "11:00"), (bj(DAY, "11:01"), 2), (bj(DAY, "11:02"), 5))
    story.opened("c2", "u2", bj(DAY, "10:00"))
    story.survey("c2", "s2", "ann", bj(DAY, "11:00"))  # sent, never answered
    await story.save(database)
    r = await report(database, DAY, DAY)
    assert (kpi(r, "csat")["value"], kpi(r, "csat")["n"]) == (1.0, 1)
    assert kpi(r, "survey_response_rate")["value"] == 0.5
    assert r["series"]["csat"] == [1.0]


async def test_containment_excludes_handoffs_and_customers_back_within_24_hours(database: Database) -> None:
    story = Story()
    story.opened("a1", "alice", bj(DAY, "10:00"))
    story.opened("a2", "alice", bj("2026-11-03", "09:00"))  # 23 h later: a1 did not contain her
    story.opened("b1", "bob", bj(DAY, "10:00"))
    story.opened("b2", "bob", bj("2026-11-03", "11:00"))  # 25 h later: b1 did
    story.opened("c1", "carol", bj(DAY, "12:00"))
    story.handoff("c1", "carol", bj(DAY, "12:01"))
    await story.save(database)
    rows = await database.fetch(text("SELECT conversation_id, contained FROM analytics_conversations"))
    assert {r["conversation_id"]: r["contained"] for r in rows} == {"a1": 0, "a2": 1, "b1": 1, "b2": 1, "c1": 0}
    r = await report(database, DAY, "2026-11-03")
    assert kpi(r, "containment")["value"] == pytest.approx(3 / 5)
    assert r["series"]["containment"] == [pytest.approx(1 / 3), 1.0]
    assert r["mix"]["handoff_reasons"] == [{"key": "asked_for_human", "count": 1}]


async def test_the_return_within_24_hours_is_seen_when_it_arrives_in_a_later_pass(database: Database) -> None:
    first = Story()
    first.opened("a1", "alice", bj(DAY, "10:00"))
    projector = await first.save(database)
    second = Story()
    second.opened("a2", "alice", bj(DAY, "20:00"))
    await SQLServiceRecord(database).append(second.events)
    await projector.run_pass()
    r = await report(database, DAY, DAY)
    assert kpi(r, "containment")["value"] == 0.5


async def test_percentiles_interpolate_like_percentile_cont_on_both_backends(database: Database) -> None:
    story = Story()
    for i, wait in enumerate((60, 120, 180, 240, 300)):
        cid = f"c{i}"
        story.opened(cid, f"u{i}", bj(DAY, "10:00"))
        story.handoff(cid, f"u{i}", bj(DAY, "10:00"))
        story.assigned(cid, "ann", bj(DAY, "10:00"))
        story.reply(cid, "ann", bj(DAY, "10:00") + wait)
    await story.save(database)
    r = await report(database, DAY, DAY)
    assert kpi(r, "first_response_p50")["value"] == 180.0
    assert kpi(r, "first_response_p90")["value"] == pytest.approx(276.0)
    assert kpi(r, "first_response_p90")["n"] == 5
    assert r["series"]["first_response_p90"] == [pytest.approx(276.0)]
    assert r["distributions"]["first_response"] == [5, 0, 0, 0, 0]


async def test_abandonment_and_queue_wait_count_episodes(database: Database) -> None:
    story = Story()
    story.opened("c1", "u1", bj(DAY, "10:00"))
    story.handoff("c1", "u1", bj(DAY, "10:00"))
    story.abandoned("c1", bj(DAY, "10:05"))
    story.handoff("c1", "u1", bj(DAY, "10:06"))  # asked again: a second episode
    story.assigned("c1", "ann", bj(DAY, "10:07"))
    await story.save(database)
    r = await report(database, DAY, DAY)
    assert (kpi(r, "abandonment_rate")["value"], kpi(r, "abandonment_rate")["n"]) == (0.5, 2)
    assert kpi(r, "queue_wait_p50")["value"] == 60.0  # the abandoned episode was never assigned
    assert kpi(r, "first_response_p50")["value"] is None


async def test_next_reply_is_the_wait_from_a_customer_message_to_the_next_agent_reply(database: Database) -> None:
    story = Story()
    story.opened("c1", "u1", bj(DAY, "10:00"))
    story.handoff("c1", "u1", bj(DAY, "10:00"))
    story.assigned("c1", "ann", bj(DAY, "10:00"))
    story.reply("c1", "ann", bj(DAY, "10:01"))
    story.customer_says("c1", bj(DAY, "10:02"))
    story.customer_says("c1", bj(DAY, "10:03"))  # the clock runs from the first unanswered message
    story.reply("c1", "ann", bj(DAY, "10:06"))
    await story.save(database)
    r = await report(database, DAY, DAY)
    assert kpi(r, "next_reply_p50")["value"] == 240.0


async def test_reopen_rate_fcr_and_complaint_rate(database: Database) -> None:
    story = Story()
    t0 = bj(DAY, "10:00")
    for i in range(4):
        story.opened(f"c{i}", f"u{i}", t0)
    story.ticket("T-1", t0, fr_due=t0 + 86400, res_due=t0 + 86400, category="service_complaint")
    story.ticket_reply("T-1", "ann", t0 + 60, first=True, due=t0 + 86400)
    story.resolved("T-1", t0 + 120, due=t0 + 86400)
    story.reopened("T-1", t0 + 6 * 86400, due=t0 + 8 * 86400)
    story.ticket("T-2", t0, fr_due=t0 + 86400, res_due=t0 + 86400)
    story.ticket_reply("T-2", "ann", t0 + 60, first=True, due=t0 + 86400)
    story.ticket_reply("T-2", "ann", t0 + 90, first=False)
    story.resolved("T-2", t0 + 200, due=t0 + 86400)
    await story.save(database)
    r = await report(database, DAY, DAY, now=t0 + 10 * 86400)
    assert kpi(r, "reopen_rate")["value"] == 0.5
    assert kpi(r, "fcr")["value"] == 0.0  # T-1 was reopened, T-2 took two replies
    assert kpi(r, "complaint_rate")["value"] == 250.0  # 1 complaint per 4 conversations
    assert kpi(r, "sla_resolution")["value"] == 0.5  # T-1's reopened clock ran past its due time
    assert r["mix"]["categories"] == [{"key": "service_complaint", "count": 1}]


async def test_kb_rates_and_lists(database: Database) -> None:
    story = Story()
    story.opened("c1", "u1", bj(DAY, "10:00"))
    story.bot_turn("c1", bj(DAY, "10:01"), "answer", "faq-1")
    story.bot_turn("c1", bj(DAY, "10:02"), "clarify", "faq-2")
    story.bot_turn("c1", bj(DAY, "10:03"), "not_found", None, "Where is  my PARCEL")
    story.bot_turn("c1", bj(DAY, "10:04"), "not_found", None, "where is my parcel")
    for at, helpful in ((bj(DAY, "10:05"), True), (bj(DAY, "10:06"), False)):
        data = {"helpful": helpful, "kb_entry": "faq-1"}
        story.add(K.KB_FEEDBACK, at, "customer", conversation_id="c1", data=data)
    await story.save(database)
    r = await report(database, DAY, DAY)
    assert kpi(r, "kb_answer_rate")["value"] == 0.25
    assert (kpi(r, "kb_helpful_rate")["value"], kpi(r, "kb_helpful_rate")["n"]) == (0.0, 1)  # the last answer
    assert r["kb"]["not_found_rate"] == 0.5 and r["kb"]["clarify_rate"] == 0.25
    assert r["kb"]["not_found_top"] == [{"query": "where is my parcel", "count": 2}]
    assert r["kb"]["unhelpful_entries"] == [{"entry": "faq-1", "title": None, "count": 1}]
    # Each row of the two lists drills down to the conversations behind its count.
    query = ReportQuery(dt.date.fromisoformat(DAY), dt.date.fromisoformat(DAY), "Asia/Shanghai")
    for metric, key, count in (("kb_not_found", "where is my parcel", 2), ("kb_unhelpful", "faq-1", 1)):
        found = await drill(database, query, DrillAsk(metric=metric, key=key), bj(DAY, "23:00"))
        assert found["total"] == count and {row["link"] for row in found["rows"]} == {"/console/conversations/c1"}


async def test_the_kb_lists_are_the_same_from_the_daily_rollup_and_from_the_facts(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    story = Story()
    for day, cid in (("2026-11-01", "c1"), ("2026-11-02", "c2")):
        story.opened(cid, f"u{cid}", bj(day, "10:00"))
        for minute, typed in enumerate(("parcel?", "Parcel?", "refund", "invoice", "parcel?")):
            story.bot_turn(cid, bj(day, f"10:0{minute + 1}"), "not_found", None, typed)
        story.bot_turn(cid, bj(day, "10:07"), "answer", "faq-3")
        data = {"helpful": False, "kb_entry": "faq-3"}
        story.add(K.KB_FEEDBACK, bj(day, "10:08"), "customer", conversation_id=cid, data=data)
    await story.save(database)
    rolled_up = await report(database, "2026-11-01", "2026-11-02")
    monkeypatch.setattr(report_module, "rolled", lambda query: False)  # what a queue and an agent filter make it do
    from_facts = await report(database, "2026-11-01", "2026-11-02")
    assert rolled_up["kb"] == from_facts["kb"]
    assert rolled_up["kb"]["not_found_top"] == [
        {"query": "parcel?", "count": 6},
        {"query": "invoice", "count": 2},
        {"query": "refund", "count": 2},
    ]
    assert rolled_up["kb"]["unhelpful_entries"] == [{"entry": "faq-3", "title": None, "count": 2}]


async def test_filters_and_the_previous_period(database: Database) -> None:
    story = Story()
    story.opened("old", "u0", bj("2026-10-31", "10:00"), channel="wechat")
    story.opened("web", "u1", bj("2026-11-01", "10:00"), channel="web", language="zh")
    story.opened("wx", "u2", bj("2026-11-02", "10:00"), channel="wechat")
    await story.save(database)
    r = await report(database, "2026-11-01", "2026-11-02", channel="wechat")
    assert r["previous"] == {"from": "2026-10-30", "to": "2026-10-31"}
    assert r["filters"]["channel"] == "wechat"
    assert (kpi(r, "conversations")["value"], kpi(r, "conversations")["previous"]) == (1, 1)
    assert r["options"]["channels"] == ["web", "wechat"]
    assert r["options"]["languages"] == ["en", "zh"]


async def test_an_empty_range_reports_nothing_to_measure(database: Database) -> None:
    r = await report(database, DAY, DAY)
    assert [k["key"] for k in r["kpis"]] == list(KPI_KEYS)
    assert kpi(r, "conversations")["value"] == 0
    assert all(k["value"] is None for k in r["kpis"] if k["unit"] != "count")
    assert r["series"]["csat"] == [None] and r["sla"] == [] and r["agents"] == []


async def test_the_rollups_and_the_facts_give_the_same_report(database: Database) -> None:
    """A queue filter is answered by the marginal rollups' queue slices, the unfiltered report by their slice of every
    fact; when every conversation is in that queue, both must agree on every number."""
    story = Story()
    for i in range(6):
        cid, start = f"c{i}", bj(DAY, "10:00") + i * 7200
        story.opened(cid, f"u{i % 4}", start, channel=("web", "wechat")[i % 2])
        story.handoff(cid, f"u{i % 4}", start + 1, reason=("asked_for_human", "low_confidence")[i % 2])
        story.assigned(cid, "ann", start + 60)
        story.reply(cid, "ann", start + 60 * (i + 1) ** 2)
        if i % 3:
            story.wrap_up(cid, "ann", start + 7000)
        story.survey(cid, f"s{i}", "ann", start + 7100, (start + 7150, 1 + i % 5))
        story.bot_turn(cid, start, ("answer", "not_found")[i % 2], "faq-1", "hello")
        story.ticket(f"T-{i}", start, fr_due=start + 3600, res_due=start + 86400, conversation_id=cid)
        story.resolved(f"T-{i}", start + 3000 * i, due=start + 86400)
    await story.save(database)
    everything = await report(database, DAY, "2026-11-03")
    queued = await report(database, DAY, "2026-11-03", queue="en:general")
    for key in ("conversations", "containment", "handoff_rate", "abandonment_rate", "csat", "kb_answer_rate"):
        assert kpi(queued, key) == kpi(everything, key), key
    # Tickets have no queue, so a queue filter leaves them out.
    assert {**queued["series"], "tickets": None} == {**everything["series"], "tickets": None}
    assert queued["series"]["tickets"] == [0, 0]
    assert queued["mix"]["channels"] == everything["mix"]["channels"]
    assert queued["mix"]["handoff_reasons"] == everything["mix"]["handoff_reasons"]
    assert queued["distributions"]["first_response"] == everything["distributions"]["first_response"]


async def test_every_drill_list_totals_the_number_it_came_from(database: Database) -> None:
    story = Story()
    t0 = bj(DAY, "10:00")
    for i, wait in enumerate((600, 2 * 3600, 5 * 3600)):
        cid = f"c{i}"
        story.opened(cid, f"u{i}", t0 + i, channel=("web", "wechat", "web")[i])
        story.handoff(cid, f"u{i}", t0 + i, reason=("asked_for_human", "low_confidence", "asked_for_human")[i])
        story.assigned(cid, "ann", t0 + i + 30)
        story.reply(cid, "ann", t0 + i + wait)
        story.survey(cid, f"s{i}", "ann", t0 + 9 * 3600, (t0 + 9 * 3600 + 60, (5, 2, 4)[i]))
    story.ticket("T-1", t0, priority="urgent", fr_due=t0 + 3600, res_due=t0 + 4 * 3600, category="billing")
    story.ticket_reply("T-1", "ann", t0 + 7200, first=True, due=t0 + 3600)
    await story.save(database)
    query = ReportQuery(dt.date.fromisoformat(DAY), dt.date.fromisoformat(DAY), "Asia/Shanghai")
    r = await report(database, DAY, DAY)
    now = bj("2030-01-01", "00:00")

    async def total(metric: str, **ask: Any) -> tuple[int, list[dict[str, Any]]]:
        found = await drill(database, query, DrillAsk(metric=metric, **ask), now)
        return found["total"], found["rows"]

    assert (await total("volume"))[0] == kpi(r, "conversations")["value"] == 3
    for label, count in zip(r["distributions"]["buckets"], r["distributions"]["first_response"], strict=True):
        assert (await total("first_response", bucket=label))[0] == count
    assert (await total("channel", key="web"))[0] == 2
    assert (await total("handoff_reason", key="low_confidence"))[0] == 1
    assert (await total("handoff_rate", day=DAY))[0] == 3
    assert (await total("csat"))[0] == kpi(r, "csat")["n"] == 3
    urgent = ReportQuery(query.start, query.end, query.tz, {"priority": "urgent"})
    missed = await drill(database, urgent, DrillAsk(metric="sla", clock="first_response", met=False), now)
    row = missed["rows"][0]
    assert (missed["total"], row["ticket"], row["met"], row["link"]) == (1, "T-1", False, "/console/tickets/T-1")
    n, rows = await total("first_response_p90")
    assert n == kpi(r, "first_response_p90")["n"] and rows[0]["value_s"] == 5 * 3600 - 0.0
    assert rows[0]["link"] == "/console/conversations/c2"
