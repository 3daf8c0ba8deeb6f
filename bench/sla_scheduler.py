"""Benchmark: the SLA scheduler's pass query and the staff ticket lists over 100,000 open tickets on PostgreSQL.

Creates a fresh database (`fd_bench_sla`, dropped at the end unless --keep), brings it to the newest schema with the
app's own migrations, bulk-loads --tickets open tickets (COPY) spread over teams, priorities, statuses, assignees and
channels, with deadlines from the default SLA targets and `sla_next_check` where an up-to-date watcher would have
left it 30 s ago (so the steady-state pass finds the tickets whose warning or deadline came in the last interval),
then VACUUM ANALYZE. Times, through the real `TicketStore` on the app's SQLAlchemy/asyncpg engine:
  pass_*  `due_for_check(now, 1000)`, the watcher's one query, at now (steady state), now + 1 h (the scheduler was
          down for an hour) and now + 1 year (every running ticket due, as right after migration 0002)
  list_*  one staff list page: `search(filter)` (50 rows) + `count(filter)` (the total), per saved view and filter
  views   `view_counts(user, teams, now)`, the five view badges
Then acts, once, at now + 1 h (the scheduler was down for an hour): two watchers' full passes at once, as two
replicas whose lock lapsed, then a third pass, as after a restart; every at-risk and breached clock of every ticket
due must fire exactly once (`act.exactly_once`), with one staff alert each, and the third pass must fire nothing.
Targets: pass p95 ≤ 200 ms, list p95 ≤ 100 ms. Prints one JSON object as its last line.

    .venv/bin/python -m bench.sla_scheduler [--tickets 100000] [--samples 200] [--keep] [--ddl 'CREATE INDEX …']
        [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from backends.sql import Database, open_database
from intake.models import OPEN_STATUSES, Category, Priority, TicketStatus
from intake.sla import DEFAULT_AT_RISK_SHARE, DEFAULT_SLA_TARGETS, SlaMetric
from intake.sla_watch import SlaWatcher
from intake.tickets import TicketFilter, TicketStore
from migrations import upgrade_database

BENCH_DB = "fd_bench_sla"
NOW = 1_795_000_000.0  # a fixed instant (2026-11-18), so runs are comparable
INTERVAL_S = 30.0  # FD_INTAKE_SLA_CHECK_S: the steady-state watcher last ran this long ago
HOUR = 3600.0
DAY = 86400.0
PASS_TARGET_P95_MS = 200.0
LIST_TARGET_P95_MS = 100.0
BATCH = 1000  # SlaWatcher's default batch

TEAMS = {
    "support": ("general",),
    "technical": ("product_fault",),
    "logistics": ("delivery", "refund_return"),
    "billing": ("billing", "service_complaint"),
    "vip": ("general",),
    "returns_eu": ("refund_return",),
    "payments": ("billing",),
    "field_service": ("product_fault",),
}
TEAM_OF_CATEGORY = {
    Category.PRODUCT_FAULT: ("technical", "field_service"),
    Category.DELIVERY: ("logistics",),
    Category.REFUND_RETURN: ("logistics", "returns_eu"),
    Category.BILLING: ("billing", "payments"),
    Category.SERVICE_COMPLAINT: ("billing", "vip"),
    Category.SUGGESTION: ("support",),
}
AGENTS_PER_TEAM = 10
PRIORITIES = ((Priority.URGENT, 0.05), (Priority.HIGH, 0.20), (Priority.NORMAL, 0.60), (Priority.LOW, 0.15))
STATUSES = (
    (TicketStatus.NEW, 0.25),
    (TicketStatus.OPEN, 0.40),
    (TicketStatus.PENDING_CUSTOMER, 0.15),
    (TicketStatus.PENDING_INTERNAL, 0.20),
)
COLUMNS = (
    "number", "seq", "customer_id", "conversation_id", "order_number", "product", "category", "description",
    "urgency", "contact", "language", "priority", "status", "created_at", "updated_at", "first_response_due",
    "resolution_due", "first_responded_at", "resolved_at", "closed_at", "extra", "channel", "team_id", "assignee",
    "merged_into", "paused_at", "next_reply_due", "reply_clock_started_at", "sla_next_check",
    "first_response_warn_at", "next_reply_warn_at", "resolution_warn_at",
)  # fmt: skip
WORDS = [
    "screen",
    "broken",
    "delivery",
    "late",
    "refund",
    "charge",
    "twice",
    "courier",
    "lost",
    "parcel",
    "battery",
    "noise",
    "invoice",
    "wrong",
    "size",
]


def pick(rng: random.Random, weighted: tuple[tuple[Any, float], ...]) -> Any:
    return rng.choices([value for value, _ in weighted], [weight for _, weight in weighted])[0]


def warning(start: float, due: float) -> float:
    """A clock's at-risk instant (wall clock: the bench's calendar is round the clock)."""
    return start + DEFAULT_AT_RISK_SHARE * (due - start)


def next_check(clocks: list[tuple[float, float]], after: float) -> float | None:
    """Where an up-to-date watcher leaves `sla_next_check`: the earliest warning or deadline of a running clock
    still to come after its last pass (`after`); None once every clock is breached."""
    instants = [warning(start, due) for start, due in clocks] + [due for _, due in clocks]
    upcoming = [t for t in instants if t > after]
    return min(upcoming) if upcoming else None


def ticket_row(seq: int, rng: random.Random) -> tuple[Any, ...]:
    """One open ticket as of NOW (wall-clock deadlines from the default targets)."""
    category = rng.choice(list(Category))
    team = rng.choice(TEAM_OF_CATEGORY[category]) if rng.random() > 0.03 else None
    priority: Priority = pick(rng, PRIORITIES)
    status: TicketStatus = pick(rng, STATUSES)
    target = DEFAULT_SLA_TARGETS[priority]
    # Most open tickets are recent; a tail is weeks old.
    created = NOW - min(rng.expovariate(1 / (2 * DAY)), 30 * DAY) - 60
    first_due = created + target.hours(SlaMetric.FIRST_RESPONSE) * HOUR
    resolution_due = created + target.hours(SlaMetric.RESOLUTION) * HOUR
    responded = None
    if status is not TicketStatus.NEW:
        responded = min(created + rng.uniform(0.05, 1.3) * (first_due - created), NOW - 30)
    assignee = None
    if team is not None and rng.random() < (0.3 if status is TicketStatus.NEW else 0.85):
        assignee = f"{team}.agent{rng.randrange(AGENTS_PER_TEAM)}"
    updated = rng.uniform(responded or created, NOW - 1)
    reply_due = reply_started = paused = None
    if status in (TicketStatus.OPEN, TicketStatus.PENDING_INTERNAL) and rng.random() < 0.35:
        # The customer wrote again: the reply clock runs.
        reply_started = rng.uniform(responded or created, NOW - 1)
        reply_due = reply_started + target.hours(SlaMetric.FIRST_RESPONSE) * HOUR
        updated = max(updated, reply_started)
    check = None
    if status is TicketStatus.PENDING_CUSTOMER:
        paused = updated  # clocks paused: no check until the customer answers
    else:
        clocks = [(created, resolution_due)]
        if responded is None:
            clocks.append((created, first_due))
        if reply_due is not None and reply_started is not None:
            clocks.append((reply_started, reply_due))
        check = next_check(clocks, NOW - INTERVAL_S)
    language = "zh" if rng.random() < 0.6 else "en"
    order = str(rng.randrange(10**13, 10**14))
    return (
        f"FD-{seq:06d}",
        seq,
        f"cust{rng.randrange(60_000)}",
        f"conv{seq}",
        order,
        rng.choice(("phone", "laptop", "kettle", "headphones", "")),
        category.value,
        " ".join(rng.sample(WORDS, 4)),
        None,
        f"138{rng.randrange(10**8):08d}",
        language,
        priority.value,
        status.value,
        created,
        updated,
        first_due,
        resolution_due,
        responded,
        None,
        None,
        "{}",
        "wechat" if rng.random() < 0.4 else "web",
        team,
        assignee,
        None,
        paused,
        reply_due,
        reply_started,
        check,
        warning(created, first_due),
        warning(reply_started, reply_due) if reply_due is not None and reply_started is not None else None,
        warning(created, resolution_due),
    )


async def create_database(admin_url: str) -> str:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {BENCH_DB}")
        version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    return str(version)


async def drop_database(admin_url: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    finally:
        await conn.close()


async def load(url: str, tickets: int, seed: int, ddl: list[str]) -> dict[str, Any]:
    rng = random.Random(seed)
    rows = [ticket_row(seq, rng) for seq in range(1, tickets + 1)]
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        await conn.copy_records_to_table("intake_tickets", records=rows, columns=COLUMNS)
        await conn.execute("UPDATE intake_counters SET value = $1 WHERE name = 'ticket'", tickets)
        await conn.executemany(
            "INSERT INTO intake_teams (id, name, skills, lead, targets, updated_at) VALUES ($1, $2, $3, $4, '{}', $5)",
            [(team, team.title(), json.dumps(skills), f"{team}.agent0", NOW) for team, skills in TEAMS.items()],
        )
        copy_s = time.perf_counter() - started
        for statement in ddl:  # a candidate index, tried before it becomes a migration
            await conn.execute(statement)
        # As autovacuum would have by then: planner statistics, and a visibility map for index-only scans.
        await conn.execute("VACUUM ANALYZE intake_tickets")
        size = await conn.fetchval("SELECT pg_size_pretty(pg_total_relation_size('intake_tickets'))")
        due_now = await conn.fetchval("SELECT count(*) FROM intake_tickets WHERE sla_next_check <= $1", NOW)
    finally:
        await conn.close()
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row[12]] = statuses.get(row[12], 0) + 1
    return {
        "tickets": tickets,
        "statuses": statuses,
        "due_at_now": due_now,
        "load_s": round(copy_s, 2),
        "table_size": size,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(samples_ms: list[float], rows: list[int]) -> dict[str, Any]:
    return {
        "n": len(samples_ms),
        "rows": round(statistics.fmean(rows), 1),
        "p50_ms": round(percentile(samples_ms, 50), 2),
        "p95_ms": round(percentile(samples_ms, 95), 2),
        "max_ms": round(max(samples_ms), 2),
    }


async def timed(samples: int, call: Callable[[int], Awaitable[int]], warmup: int = 5) -> dict[str, Any]:
    """`call(i)` returns how many rows it got; warm-up calls are not counted."""
    for i in range(warmup):
        await call(i)
    times: list[float] = []
    rows: list[int] = []
    for i in range(samples):
        started = time.perf_counter_ns()
        rows.append(await call(i))
        times.append((time.perf_counter_ns() - started) / 1e6)
    return summary(times, rows)


def list_filters(rng: random.Random) -> dict[str, Callable[[int], TicketFilter]]:
    """One filter per staff view; each sample varies its parameters (team, agent, page, search text)."""
    teams = list(TEAMS)
    open_ = list(OPEN_STATUSES)

    def agent(i: int) -> str:
        return f"{teams[i % len(teams)]}.agent{i % AGENTS_PER_TEAM}"

    return {
        "list_queue_due": lambda i: TicketFilter(statuses=open_, sort="due"),
        "list_queue_newest_page3": lambda i: TicketFilter(statuses=open_, sort="newest", offset=100),
        "list_team_due": lambda i: TicketFilter(statuses=open_, team_ids=[teams[i % len(teams)]], sort="due"),
        "list_mine_due": lambda i: TicketFilter(statuses=open_, assignee=agent(i), sort="due"),
        "list_unassigned_newest": lambda i: TicketFilter(statuses=open_, assignee="", sort="newest"),
        "list_at_risk_due": lambda i: TicketFilter(at_risk_at=NOW + (i % 10) * 60, sort="due"),
        "list_breached_due": lambda i: TicketFilter(breached_at=NOW + (i % 10) * 60, sort="due"),
        "list_urgent_wechat_updated": lambda i: TicketFilter(
            statuses=open_, priorities=[Priority.URGENT, Priority.HIGH], channel="wechat", sort="updated"
        ),
        "list_text_phone": lambda i: TicketFilter(text=f"138{rng.randrange(10**4):04d}", sort="newest"),
    }


async def run(db: Database, samples: int, seed: int) -> dict[str, Any]:
    store = TicketStore(db)
    rng = random.Random(seed + 1)
    results: dict[str, Any] = {}

    def pass_at(now: float) -> Callable[[int], Awaitable[int]]:
        async def call(i: int) -> int:
            return len(await store.due_for_check(now + (i % 10), BATCH))

        return call

    results["pass_steady"] = await timed(samples, pass_at(NOW))
    results["pass_backlog_1h"] = await timed(samples, pass_at(NOW + HOUR))
    results["pass_all_due"] = await timed(samples, pass_at(NOW + 365 * DAY))
    for name, make in list_filters(rng).items():

        async def page(i: int, make: Callable[[int], TicketFilter] = make) -> int:
            query = make(i)
            tickets = await store.search(query)
            await store.count(query)
            return len(tickets)

        results[name] = await timed(samples, page)
    teams = list(TEAMS)

    async def views(i: int) -> int:
        team = teams[i % len(teams)]
        return len(await store.view_counts(f"{team}.agent{i % AGENTS_PER_TEAM}", [team], NOW))

    results["views"] = await timed(samples, views)
    return results


class CountingAlerts:
    """The staff alert store's stand-in: counts one alert per (kind, ticket, clock)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def notify(self, recipients: Sequence[str], kind: str, params: Mapping[str, Any], link: str) -> None:
        self.sent.append((kind, str(params["number"]), str(params["metric"])))


async def expected_events(db: Database, now: float) -> set[tuple[str, str, str]]:
    """(number, metric, kind) of every clock that is at risk or breached at `now` on a ticket whose next check has
    come: what the passes must fire, each once."""
    expected: set[tuple[str, str, str]] = set()
    for ticket in await TicketStore(db).due_for_check(now, limit=10**9):
        for metric, warn_at, due in ticket.running_clocks():
            if now >= due:
                expected.add((ticket.number, metric, "sla_breached"))
            elif warn_at is not None and now >= warn_at:
                expected.add((ticket.number, metric, "sla_at_risk"))
    return expected


async def act(db: Database, now: float) -> dict[str, Any]:
    """Two replicas' passes at once, then a restarted one's, acting for real at `now`."""
    expected = await expected_events(db, now)
    alerts = CountingAlerts()
    started = time.perf_counter()
    raced = await asyncio.gather(*(SlaWatcher(TicketStore(db), alerts).run_pass(now) for _ in range(2)))
    seconds = time.perf_counter() - started
    fired = [(f.number, f.metric, f.kind.value) for result in raced for f in result]
    again = await SlaWatcher(TicketStore(db), alerts).run_pass(now)
    alerted = [(number, metric, kind) for kind, number, metric in alerts.sent]
    result = {
        "now": "now + 1 h",
        "expected": len(expected),
        "fired": len(fired),
        "by_kind": {kind: sum(1 for f in fired if f[2] == kind) for kind in ("sla_at_risk", "sla_breached")},
        "duplicates": len(fired) - len(set(fired)),
        "missing": len(expected - set(fired)),
        "unexpected": len(set(fired) - expected),
        "alerts": len(alerted),
        "restart_fired": len(again),
        "seconds": round(seconds, 2),
        "ms_per_event": round(1000 * seconds / max(1, len(fired)), 2),
    }
    result["exactly_once"] = result["duplicates"] == result["missing"] == result["unexpected"] == result[
        "restart_fired"
    ] == 0 and sorted(alerted) == sorted(fired)
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help=f"leave the {BENCH_DB} database for EXPLAIN")
    parser.add_argument(
        "--ddl", action="append", default=[], metavar="SQL", help="run after the load (a candidate index); repeatable"
    )
    args = parser.parse_args()
    url = make_url(args.admin_url).set(database=BENCH_DB).render_as_string(hide_password=False)
    out: dict[str, Any] = {
        "bench": "sla_scheduler",
        "samples": args.samples,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
        "ddl": args.ddl,
    }
    out["postgres"] = await create_database(args.admin_url)
    try:
        db = await open_database(url)
        try:
            await upgrade_database(db)
            out["data"] = await load(url, args.tickets, args.seed, args.ddl)
            print("data", json.dumps(out["data"]), flush=True)
            results = await run(db, args.samples, args.seed)
            out["act"] = await act(db, NOW + HOUR)
            print("act", json.dumps(out["act"]), flush=True)
        finally:
            await db.close()
    finally:
        if not args.keep:
            await drop_database(args.admin_url)
    for name, result in results.items():
        print(name, json.dumps(result), flush=True)
    out["results"] = results
    out["target_p95_ms"] = {"pass": PASS_TARGET_P95_MS, "list": LIST_TARGET_P95_MS, "views": LIST_TARGET_P95_MS}
    out["misses"] = [
        name
        for name, result in results.items()
        if result["p95_ms"] > (PASS_TARGET_P95_MS if name.startswith("pass") else LIST_TARGET_P95_MS)
    ]
    out["pass"] = not out["misses"] and out["act"]["exactly_once"]
    out["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
