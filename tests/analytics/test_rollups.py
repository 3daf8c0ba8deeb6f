"""The rollups against the facts, on SQLite and PostgreSQL: every report with no filter or one filter (queue and agent
included) reads only rollups (daily and marginal) and gives exactly the report summed from the facts; an agent's
conversation counts once, on the day of their first episode in it, across transfers and later requests; the SLA
clocks still running past their due time are counted against `now`, the stopped ones from the rollups; incremental
passes keep the marginal rollups equal to a full refresh."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

from analytics import report as report_module
from analytics import rollups
from analytics.tables import FACT_TABLES, MARGINALS, ROLLUPS
from backends.sql import Database
from record import SQLServiceRecord
from tests.analytics.story import K, Story, bj, kpi, report

DAYS = ("2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04")
FIRST, LAST = "2026-11-03", "2026-11-04"  # the report's range; the previous period is the first two days
NOW = bj("2026-11-04", "15:00")
AGENTS = ("ann", "bob", "cy")


def varied_history() -> Story:
    """Four days of everything a report counts, in two queues, three agents, two channels and languages: transfers,
    abandonments, conversations that come back days later to the same agent, surveys, KB turns, and tickets of two
    teams whose clocks stopped in time, late, or still run (some past their due time at `NOW`)."""
    story = Story()
    for i in range(16):
        day, cid, customer = DAYS[i % 4], f"c{i}", f"u{i % 6}"
        start = bj(day, "09:00") + 1800 * i
        channel, language = ("web", "wechat")[i % 2], ("en", "zh")[i % 3 == 0]
        story.opened(cid, customer, start, channel=channel, language=language)
        decision = ("answer", "not_found", "clarify")[i % 3]
        story.bot_turn(cid, start + 10, decision, f"faq-{i % 2}", ("parcel?", "refund")[i % 2])
        if i % 5 == 0:
            story.add(
                K.KB_FEEDBACK,
                start + 20,
                "customer",
                conversation_id=cid,
                data={"helpful": i % 2 == 0, "kb_entry": "faq-0"},
            )
            continue  # contained by the bot
        queue, priority = ("en:general", "zh:billing")[i % 2], ("normal", "urgent")[i % 3 == 1]
        reason = ("asked_for_human", "low_confidence")[i % 2]
        story.handoff(cid, customer, start + 60, reason=reason, queue=queue, priority=priority)
        if i % 7 == 3:
            story.abandoned(cid, start + 400)
            continue
        first, second = AGENTS[i % 3], AGENTS[(i + 1) % 3]
        story.assigned(cid, first, start + 120)
        story.reply(cid, first, start + 60 + 90 * i)
        if i % 4 == 1:
            story.transfer(cid, first, second, start + 2000)
            story.reply(cid, second, start + 2100)
            story.wrap_up(cid, second, start + 2500)
        else:
            story.wrap_up(cid, first, start + 1500)
        if i % 3 == 0 and day != DAYS[-1]:  # back the next day, to the same agent
            later = start + 86400
            story.handoff(cid, customer, later, reason="asked_for_human", queue=queue, priority=priority)
            story.assigned(cid, first, later + 30)
            story.reply(cid, first, later + 200)
            story.wrap_up(cid, first, later + 900)
        story.survey(cid, f"s{i}", first, start + 3000, (start + 3100, 1 + i % 5))
        team, category = ("billing", "delivery")[i % 2], ("billing", "service_complaint", "delivery")[i % 3]
        ticket, fr_due, res_due = f"T-{i}", start + 3600, start + 4 * 3600
        story.ticket(
            ticket,
            start,
            priority=priority,
            fr_due=fr_due,
            res_due=res_due,
            conversation_id=cid,
            team=team,
            category=category,
        )
        story.add(
            K.TICKET_ASSIGNED, start + 30, "agent:sam", ticket=ticket, agent=first, data={"from": None, "to": first}
        )
        if i % 4 != 2:  # the others still wait for a first response
            story.ticket_reply(ticket, first, start + 1200 * (i % 5), first=True, due=fr_due)
        if i % 4 == 0:
            story.resolved(ticket, start + 3600 * (i % 6), due=res_due)
            if i % 8 == 0:
                story.reopened(ticket, start + 5 * 3600, due=start + 9 * 3600)
    return story


def facts_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes the report sum the facts themselves, as it does under two filters one of which no rollup carries."""
    monkeypatch.setattr(report_module, "rolled", lambda query: False)
    monkeypatch.setattr(report_module, "sliced", lambda query: None)


@pytest.mark.parametrize(
    "filters",
    [{}, {"queue": "zh:billing"}, {"agent": "bob"}, {"channel": "wechat"}, {"priority": "urgent"}, {"team": "billing"}],
    ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()) or "unfiltered",
)
async def test_a_report_with_at_most_one_filter_reads_only_rollups_and_equals_the_facts_report(
    database: Database, monkeypatch: pytest.MonkeyPatch, filters: dict[str, str]
) -> None:
    await varied_history().save(database)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        rolled_up = await report(database, FIRST, LAST, now=NOW, **filters)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    for statement in statements:
        read = {t.name for t in FACT_TABLES if f"FROM {t.name}" in statement or f"JOIN {t.name}" in statement}
        # The clocks still running (the partial indexes of the ticket facts) depend on now; under a filter on another
        # dimension, the agents' and teams' medians are computed exactly from the facts.
        open_clocks = read == {"analytics_tickets"} and "_at IS NULL" in statement
        exact_medians = bool(filters) and ("percentile_cont" in statement or "row_number()" in statement)
        assert not read or open_clocks or exact_medians, statement

    facts_only(monkeypatch)
    assert await report(database, FIRST, LAST, now=NOW, **filters) == rolled_up
    assert kpi(rolled_up, "conversations")["value"] or filters


async def test_an_agents_conversation_counts_once_on_the_day_of_their_first_episode_in_it(database: Database) -> None:
    story = Story()
    day1, day2 = "2026-11-02", "2026-11-03"
    story.opened("c1", "u1", bj(day1, "10:00"))
    story.handoff("c1", "u1", bj(day1, "10:00"))
    story.assigned("c1", "ann", bj(day1, "10:01"))
    story.reply("c1", "ann", bj(day1, "10:02"))
    story.transfer("c1", "ann", "bob", bj(day1, "10:05"))
    story.reply("c1", "bob", bj(day1, "10:06"))
    story.transfer("c1", "bob", "ann", bj(day1, "10:08"))  # and back: still one episode of ann's
    story.reply("c1", "ann", bj(day1, "10:09"))
    story.wrap_up("c1", "ann", bj(day1, "10:10"))
    story.customer_says("c1", bj(day2, "09:00"))
    story.handoff("c1", "u1", bj(day2, "09:00"))  # the next day, a new episode, ann again
    story.assigned("c1", "ann", bj(day2, "09:01"))
    story.reply("c1", "ann", bj(day2, "09:02"))
    story.wrap_up("c1", "ann", bj(day2, "09:10"))
    await story.save(database)

    def conversations(r: dict[str, Any]) -> dict[str, int]:
        return {row["agent"]: row["conversations"] for row in r["agents"]}

    assert conversations(await report(database, day1, day2)) == {"ann": 1, "bob": 1}
    assert conversations(await report(database, day1, day1)) == {"ann": 1, "bob": 1}
    # On the second day alone ann answered an episode (she is listed, with its medians), but the conversation was
    # already hers: it counts on the day of her first episode in it.
    second = await report(database, day2, day2)
    assert conversations(second) == {"ann": 0}
    assert second["agents"][0]["first_response_p50"] == 120.0
    assert conversations(await report(database, day2, day2, agent="ann")) == {"ann": 0}
    assert [a["username"] for a in second["options"]["agents"]] == ["ann"]


async def test_a_clock_past_its_due_time_counts_as_missed_only_once_now_has_passed_it(database: Database) -> None:
    day = "2026-11-02"
    t0 = bj(day, "10:00")
    story = Story()
    for number in ("T-1", "T-2", "T-3"):
        story.ticket(number, t0, priority="urgent", fr_due=t0 + 3600, res_due=t0 + 4 * 3600)
    story.ticket_reply("T-1", "ann", t0 + 600, first=True, due=t0 + 3600)  # in time
    story.ticket_reply("T-2", "ann", t0 + 7200, first=True, due=t0 + 3600)  # late
    await story.save(database)  # T-3 waits

    def first_response(r: dict[str, Any]) -> tuple[int, int]:
        row = next(row for row in r["sla"] if row["clock"] == "first_response")
        return row["met"], row["missed"]

    stopped = await database.fetchrow(text("SELECT fr_met, fr_late, res_met, res_late FROM analytics_daily_tickets"))
    assert stopped is not None and dict(stopped) == {"fr_met": 1, "fr_late": 1, "res_met": 0, "res_late": 0}
    assert first_response(await report(database, day, day, now=t0 + 1800)) == (1, 1)  # T-3 still within its hour
    at_noon = await report(database, day, day, now=t0 + 7200)
    assert first_response(at_noon) == (1, 2)
    assert kpi(at_noon, "sla_first_response")["value"] == pytest.approx(1 / 3)
    assert kpi(at_noon, "sla_resolution")["n"] == 0  # every resolution clock runs within its 4 hours
    # Under a filter too (the tickets' agent: their first responder here; T-3 has none).
    assert first_response(await report(database, day, day, now=t0 + 7200, agent="ann")) == (1, 1)
    assert (await report(database, day, day, now=t0 + 7200, agent="bob"))["sla"] == []


async def _rollups(db: Database) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    for table in (*ROLLUPS.values(), *MARGINALS.values()):
        rows = await db.fetch(text(f"SELECT * FROM {table.name}"))
        out[table.name] = sorted(tuple("" if v is None else v for v in r.values()) for r in rows)
    return out


async def test_incremental_passes_keep_every_rollup_equal_to_a_full_refresh(database: Database) -> None:
    story = varied_history()
    half = len(story.events) // 2
    first, rest = Story(), Story()
    first.events, rest.events = story.events[:half], story.events[half:]
    projector = await first.save(database)
    await SQLServiceRecord(database).append(rest.events)
    await projector.run_pass()
    incremental = await _rollups(database)
    assert incremental["analytics_marginal_agent_work"] and incremental["analytics_marginal_surveys"]
    async with database.transaction() as tx:
        await rollups.refresh(tx, None)
    assert await _rollups(database) == incremental
