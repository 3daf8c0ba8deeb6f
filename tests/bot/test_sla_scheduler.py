"""The SLA scheduler in the running app: two replicas on one PostgreSQL (with Redis's lock, or PostgreSQL's own) fire
each at-risk and breach exactly once — one timeline event, one staff alert, one apology, one priority step — and a
replica started after a crash never fires again what fired before."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select, update

from alerts.store import AlertStore
from alerts.tables import staff_alerts
from backends.sql import Database, open_database
from bot.keys import DATABASE, SLA_SCHEDULER, TICKETS
from bot.settings import Settings, SlaSchedulerConfig
from conversations.store import ConversationStore
from intake.models import EventKind, Priority, TicketDraft, TicketStatus
from intake.settings import IntakeSettings
from intake.sla import SlaDeadlines
from intake.sla_watch import SlaWatcher
from intake.tables import intake_sla_marks, intake_tickets
from intake.tickets import TicketStore
from kb.settings import KBConfig
from migrations import upgrade_database
from server.app import create_app
from tests.conftest import POSTGRES_URL, REDIS_URL, drop_schema, flushed_redis, open_test_database

REDIS_DB = 8
CHECK_S = 0.1
HOUR = 3600.0
DAY = 86400.0


@dataclass
class Replica:
    app: web.Application

    @property
    def rounds(self) -> int:
        job = self.app[SLA_SCHEDULER]
        return job.passes + job.skipped


@dataclass
class Tickets:
    """A: first response overdue (breach). B: 80 % of its first-response time gone (at risk). C: fresh. D: overdue
    but waiting on the customer (paused)."""

    breach: str
    at_risk: str
    fresh: str
    paused: str
    conversation_id: str


@pytest.fixture
async def shared(tmp_path: Path) -> AsyncIterator[tuple[Database, str]]:
    """One PostgreSQL schema the replicas share, and the test's own handle on it."""
    db, schema = await open_test_database("postgres", tmp_path)
    assert schema is not None
    try:
        yield db, schema
    finally:
        await db.close()
        await drop_schema(schema)


def replica_settings(tmp_path: Path, schema: str, redis_url: str, check_s: float = CHECK_S) -> Settings:
    return Settings(
        var_dir=tmp_path,
        database_url=POSTGRES_URL,
        database_schema=schema,
        redis_url=redis_url,
        rasa_url="http://127.0.0.1:9",
        kb=KBConfig(seed_demo=False, preload=False),
        sla=SlaSchedulerConfig(check_s=check_s),
    )


@asynccontextmanager
async def replica(settings: Settings) -> AsyncIterator[Replica]:
    """One front-door process: the whole app started (no HTTP listener needed), stopped on exit."""
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        yield Replica(app)
    finally:
        await runner.cleanup()


async def seed(db: Database, now: float) -> Tickets:
    """The tickets, written before any replica starts (each by a store whose clock says when it was created)."""
    policy = IntakeSettings().sla_policy()

    def store(at: float) -> TicketStore:
        return TicketStore(db, clock=lambda: at, policy=policy)

    customer, _ = await ConversationStore(db).customer_for_identity("web", "sla-customer", "en")
    conversation = await ConversationStore(db).create_conversation(customer.id, "web", "en")

    async def create(at: float, first_due: float, conversation_id: str = "") -> str:
        draft = TicketDraft(customer.id, conversation_id, description="the kettle leaks", language="en")
        deadlines = SlaDeadlines(first_response_due=first_due, resolution_due=now + 10 * DAY)
        ticket = await store(at).create(draft, priority=Priority.NORMAL, deadlines=deadlines, channel="web")
        return ticket.number

    breach = await create(now - 2 * HOUR, now - 60, conversation.id)
    at_risk = await create(now - 10 * HOUR, now + HOUR)
    fresh = await create(now, now + 8 * HOUR)
    paused = await create(now - 2 * HOUR, now - 60)
    assert await store(now - HOUR).transition(paused, TicketStatus.PENDING_CUSTOMER, actor="alice") is not None
    return Tickets(breach, at_risk, fresh, paused, conversation.id)


async def sla_kinds(db: Database, number: str) -> list[str]:
    events = await TicketStore(db).timeline(number)
    return [e.kind.value for e in events if e.kind in (EventKind.SLA_AT_RISK, EventKind.SLA_BREACHED)]


async def wait_until(condition: Callable[[], Awaitable[bool] | bool], timeout_s: float = 20.0) -> None:
    started = time.perf_counter()
    while not await _value(condition()):
        if time.perf_counter() - started > timeout_s:
            raise AssertionError(f"not within {timeout_s} s")
        await asyncio.sleep(0.05)


async def _value(result: Awaitable[bool] | bool) -> bool:
    return await result if inspect.isawaitable(result) else bool(result)


def both_fired(db: Database, tickets: Tickets) -> Callable[[], Awaitable[bool]]:
    async def fired() -> bool:
        return bool(await sla_kinds(db, tickets.breach)) and bool(await sla_kinds(db, tickets.at_risk))

    return fired


async def staff_alerts_of(db: Database) -> list[tuple[str, str, str]]:
    rows = await db.fetch(select(staff_alerts.c.kind, staff_alerts.c.params, staff_alerts.c.recipient))
    return sorted((r["kind"], json.loads(r["params"])["number"], r["recipient"]) for r in rows)


async def assert_fired_once(db: Database, tickets: Tickets) -> None:
    assert await sla_kinds(db, tickets.breach) == ["sla_breached"]
    assert await sla_kinds(db, tickets.at_risk) == ["sla_at_risk"]
    assert await sla_kinds(db, tickets.fresh) == []
    assert await sla_kinds(db, tickets.paused) == []
    # Neither ticket has an assignee or a team lead: each alert goes to the supervisors, once.
    assert await staff_alerts_of(db) == sorted(
        [("sla_breached", tickets.breach, "role:supervisor"), ("sla_at_risk", tickets.at_risk, "role:supervisor")]
    )
    breached = await TicketStore(db).get_for_staff(tickets.breach)
    assert breached is not None and breached.priority is Priority.HIGH  # one step up, not two
    transcript = await ConversationStore(db).history(tickets.conversation_id)
    assert len([m for m in transcript if "ticket_apology" in m.custom]) == 1
    marks = await db.fetch(select(intake_sla_marks.c.number, intake_sla_marks.c.kind))
    assert sorted((m["number"], m["kind"]) for m in marks) == sorted(
        [
            (tickets.breach, "sla_at_risk"),  # claimed silently when the breach came first: it never fires late
            (tickets.breach, "sla_breached"),
            (tickets.at_risk, "sla_at_risk"),
        ]
    )


@pytest.mark.postgres
@pytest.mark.parametrize("lock", ["redis", "postgres"])
async def test_two_replicas_fire_each_at_risk_and_breach_exactly_once(
    lock: str, shared: tuple[Database, str], tmp_path: Path
) -> None:
    db, schema = shared
    redis_url = ""
    if lock == "redis":
        await (await flushed_redis(REDIS_DB)).aclose()
        redis_url = f"{REDIS_URL}/{REDIS_DB}"
    tickets = await seed(db, time.time())
    settings = replica_settings(tmp_path, schema, redis_url)
    async with replica(settings) as one, replica(settings) as two:
        # Ten passes at once, half on each replica, beside the replicas' own loops: they race for the lock.
        jobs = [one.app[SLA_SCHEDULER], two.app[SLA_SCHEDULER]]
        raced = await asyncio.gather(*(jobs[i % 2].run_once() for i in range(10)))
        assert raced.count(None) >= 1
        await wait_until(both_fired(db, tickets))
        # Many more rounds on both replicas: nothing fires again.
        rounds = one.rounds + two.rounds
        await wait_until(lambda: one.rounds + two.rounds >= rounds + 20)
        await assert_fired_once(db, tickets)
        assert one.app[SLA_SCHEDULER].failures == two.app[SLA_SCHEDULER].failures == 0


@pytest.mark.postgres
async def test_passes_that_overlap_without_the_lock_still_fire_once(
    shared: tuple[Database, str], tmp_path: Path
) -> None:
    """What a lapsed Redis lease allows: two replicas' passes at the same instant; the watcher's marks decide."""
    db, schema = shared
    tickets = await seed(db, time.time())
    settings = replica_settings(tmp_path, schema, "", check_s=0)
    async with replica(settings) as one, replica(settings) as two:
        watchers = [SlaWatcher(r.app[TICKETS], AlertStore(r.app[DATABASE])) for r in (one, two)]
        now = time.time()
        await asyncio.gather(*(watchers[i % 2].run_pass(now) for i in range(10)))
    await assert_fired_once(db, tickets)


@pytest.mark.postgres
async def test_a_replica_started_after_a_crash_fires_nothing_again(
    shared: tuple[Database, str], tmp_path: Path
) -> None:
    db, schema = shared
    now = time.time()
    tickets = await seed(db, now)
    settings = replica_settings(tmp_path, schema, "")
    async with replica(settings):
        await wait_until(both_fired(db, tickets))
    # As if the first process had died after firing but before storing the tickets' next checks.
    await db.execute(
        update(intake_tickets)
        .where(intake_tickets.c.number.in_([tickets.breach, tickets.at_risk]))
        .values(sla_next_check=now - 5)
    )
    async with replica(settings) as after:
        passes = after.app[SLA_SCHEDULER].passes
        await wait_until(lambda: after.app[SLA_SCHEDULER].passes >= passes + 5)
    await assert_fired_once(db, tickets)
    # The restarted replica looked again and set the next instant that matters: the at-risk ticket's deadline.
    at_risk = await TicketStore(db).get_for_staff(tickets.at_risk)
    assert at_risk is not None and at_risk.sla_next_check == pytest.approx(now + HOUR)


async def test_a_check_interval_of_zero_runs_no_scheduler(tmp_path: Path) -> None:
    settings = Settings(
        var_dir=tmp_path, rasa_url="http://127.0.0.1:9", kb=KBConfig(seed_demo=False, preload=False)
    ).model_copy(update={"sla": SlaSchedulerConfig(check_s=0)})
    async with replica(settings) as only:
        assert SLA_SCHEDULER not in only.app


async def test_a_single_sqlite_replica_fires_once_under_its_in_process_lock(tmp_path: Path) -> None:
    settings = Settings(
        var_dir=tmp_path,
        rasa_url="http://127.0.0.1:9",
        kb=KBConfig(seed_demo=False, preload=False),
        sla=SlaSchedulerConfig(check_s=CHECK_S),
    )
    # Seeded before the app starts, in the file the app opens (var_dir/frontdoor.db).
    db = await open_database(settings.effective_database_url)
    try:
        await upgrade_database(db)
        tickets = await seed(db, time.time())
        async with replica(settings) as only:
            await wait_until(both_fired(db, tickets))
            passes = only.app[SLA_SCHEDULER].passes
            await wait_until(lambda: only.app[SLA_SCHEDULER].passes >= passes + 5)
        await assert_fired_once(db, tickets)
    finally:
        await db.close()
