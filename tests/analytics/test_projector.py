"""The projector on SQLite and PostgreSQL: a pass is idempotent, picks up events that arrive late within its lag
window, recomputes only what was touched, and a rebuild from scratch gives exactly the incremental result. Also the
periodic job in the front door and `frontdoor analytics rebuild`."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import analytics
from analytics.facts import Clocks
from analytics.projector import CURSOR, Projector
from analytics.settings import AnalyticsConfig
from analytics.tables import FACT_TABLES, analytics_conversations, analytics_handoffs, analytics_state
from backends.sql import Database, open_database
from bot.keys import ANALYTICS_PROJECTOR, DATABASE
from bot.settings import Settings
from kb.settings import KBConfig
from migrations import upgrade_database
from record import SQLServiceRecord
from server.cli import main
from tests.analytics.story import CALENDAR, Story, bj
from tests.conftest import scripted_rasa
from tests.console.conftest import console_app, scripted_rasa_turn

DAY = "2026-11-02"


async def snapshot(db: Database) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for table in FACT_TABLES:
        key = list(table.primary_key.columns)
        out[table.name] = [dict(r) for r in await db.fetch(select(table).order_by(*key))]
    return out


def chat(story: Story, cid: str, start: float) -> None:
    story.opened(cid, f"u-{cid}", start)
    story.handoff(cid, f"u-{cid}", start + 1)
    story.assigned(cid, "ann", start + 2)
    story.reply(cid, "ann", start + 30)
    story.survey(cid, f"s-{cid}", "ann", start + 100, (start + 110, 4))


async def test_a_second_pass_over_the_same_events_changes_nothing(database: Database) -> None:
    story = Story()
    chat(story, "c1", bj(DAY, "10:00"))
    projector = await story.save(database)
    before = await snapshot(database)
    assert len(before["analytics_conversations"]) == 1 and len(before["analytics_surveys"]) == 1
    assert await projector.run_pass() == ["c1"]  # within the lag window: folded again, to the same rows
    assert await snapshot(database) == before


async def test_a_late_event_within_the_lag_is_folded_into_its_conversation(database: Database) -> None:
    story = Story()
    chat(story, "c1", bj(DAY, "10:00"))
    projector = await story.save(database)
    late = Story()
    late.wrap_up("c1", "ann", bj(DAY, "10:05"))  # buffered by another replica, written after the pass
    late.opened("c2", "u2", bj(DAY, "11:00"))
    await SQLServiceRecord(database).append(late.events)
    touched = await projector.run_pass()
    assert set(touched) == {"c1", "c2"}
    rows = await database.fetch(select(analytics_handoffs.c.resolved, analytics_handoffs.c.handle_s))
    assert [dict(r) for r in rows] == [{"resolved": 1, "handle_s": 298.0}]


async def test_only_what_was_touched_since_the_cursor_minus_lag_is_recomputed(database: Database) -> None:
    story = Story()
    chat(story, "old", bj(DAY, "08:00"))
    chat(story, "new", bj(DAY, "12:00"))
    await SQLServiceRecord(database).append(story.events)
    projector = Projector(database, Clocks("Asia/Shanghai", CALENDAR), lag_s=60.0)
    assert set(await projector.run_pass()) == {"old", "new"}
    cursor = await database.fetchval(select(analytics_state.c.value).where(analytics_state.c.name == CURSOR))
    assert cursor == bj(DAY, "12:00") + 110
    assert await projector.run_pass() == ["new"]


async def test_a_rebuild_gives_the_incremental_result(database: Database) -> None:
    story = Story()
    for i in range(7):
        chat(story, f"c{i}", bj(DAY, "09:00") + i * 3600)
    story.ticket("T-1", bj(DAY, "09:00"), fr_due=bj(DAY, "18:00"), res_due=bj("2026-11-05", "18:00"))
    story.resolved("T-1", bj(DAY, "15:00"), due=bj("2026-11-05", "18:00"))
    # Small batches: the rebuild pages through ids, the incremental pass reads them by time.
    await SQLServiceRecord(database).append(story.events)
    clocks = Clocks("Asia/Shanghai", CALENDAR)
    await Projector(database, clocks, lag_s=60.0, batch=3).run_pass()
    incremental = await snapshot(database)
    rebuilt = await Projector(database, clocks, lag_s=60.0, batch=2).rebuild()
    assert len(rebuilt) == 8
    assert await snapshot(database) == incremental
    assert len(incremental["analytics_tickets"]) == 1


async def test_a_conversation_whose_events_are_all_unknown_kinds_of_ids_still_has_a_day(database: Database) -> None:
    """A conversation the record met only mid-way (no `conversation_opened`: recorded before the record existed)
    opens at its first event."""
    story = Story()
    story.reply("c1", "ann", bj(DAY, "23:59"))
    await story.save(database)
    row = await database.fetchrow(select(analytics_conversations))
    assert row is not None and (row["day"], row["agent_replies"]) == (DAY, 1)


def test_every_exported_name_exists_once() -> None:
    for name in analytics.__all__:
        assert hasattr(analytics, name), name
    assert len(set(analytics.__all__)) == len(analytics.__all__)


async def test_the_front_door_runs_the_projector_as_a_periodic_job(tmp_path: Path) -> None:
    async with scripted_rasa(scripted_rasa_turn) as rasa_url:
        settings = Settings(
            var_dir=tmp_path,
            rasa_url=rasa_url,
            kb=KBConfig(seed_demo=False, preload=False),
            analytics=AnalyticsConfig(project_s=3600),
        )
        async with console_app(settings) as running:
            story = Story()
            chat(story, "c1", bj(DAY, "10:00"))
            await SQLServiceRecord(running.app[DATABASE]).append(story.events)
            assert await running.app[ANALYTICS_PROJECTOR].run_once() == ["c1"]


def test_frontdoor_analytics_rebuild_folds_the_whole_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'fd.db'}"
    monkeypatch.setenv("FD_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("FD_DATABASE_URL", url)

    async def write() -> None:
        db = await open_database(url)
        try:
            await upgrade_database(db)
            story = Story()
            chat(story, "c1", bj(DAY, "10:00"))
            chat(story, "c2", bj(DAY, "11:00"))
            await SQLServiceRecord(db).append(story.events)
        finally:
            await db.close()

    asyncio.run(write())
    assert main(["analytics", "rebuild"]) == 0
    assert capsys.readouterr().out.splitlines() == ["analytics rebuilt: 2 conversations and tickets"]
    with sqlite3.connect(tmp_path / "fd.db") as conn:
        assert conn.execute("SELECT count(*) FROM analytics_handoffs").fetchone() == (2,)
