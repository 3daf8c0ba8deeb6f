"""AlertStore's contract on both SQL backends: who sees which alert, per-member read state, the age window, and the
checks on what a writer may store."""

from __future__ import annotations

import asyncio

import pytest

from alerts import (
    SUPERVISORS,
    Alert,
    AlertKind,
    AlertStore,
    InvalidAlert,
    role_recipient,
    sla_title,
)
from backends.sql import Database

BREACHED = sla_title(AlertKind.SLA_BREACHED, "first_response")
SUPERVISOR_ROLES = ["agent", "supervisor"]


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(database: Database, clock: Clock) -> AlertStore:
    return AlertStore(database, clock, max_age_s=1000.0)


async def test_an_alert_for_a_member_reaches_only_that_member(store: AlertStore) -> None:
    (alert,) = await store.add(["ann"], AlertKind.SLA_AT_RISK, BREACHED, {"number": "FD-000001"}, "/console/tickets/1")
    assert [a.id for a in await store.for_member("ann", ["agent"])] == [alert.id]
    assert await store.for_member("bob", ["agent"]) == []
    assert await store.unread_count("bob", ["agent", "supervisor"]) == 0
    (read,) = await store.for_member("ann", ["agent"])
    assert read == alert
    assert (read.params, read.link, read.read) == ({"number": "FD-000001"}, "/console/tickets/1", False)


async def test_a_role_alert_reaches_everyone_in_the_role_and_each_reads_it_alone(store: AlertStore) -> None:
    (alert,) = await store.add([SUPERVISORS], AlertKind.SLA_BREACHED, BREACHED, {"number": "FD-000002"}, "")
    assert alert.recipient == "role:supervisor"
    assert await store.for_member("ann", ["agent"]) == []  # an agent is not a supervisor
    for name in ("sam", "sue"):
        assert await store.unread_count(name, SUPERVISOR_ROLES) == 1

    assert await store.mark_read("sam", SUPERVISOR_ROLES) == 1

    assert await store.unread_count("sam", SUPERVISOR_ROLES) == 0
    assert await store.unread_count("sue", SUPERVISOR_ROLES) == 1
    (seen,) = await store.for_member("sam", SUPERVISOR_ROLES)
    assert seen.read and seen.read_at is not None
    (unseen,) = await store.for_member("sue", SUPERVISOR_ROLES)
    assert not unseen.read


async def test_newest_first_with_unread_only_and_a_limit(store: AlertStore, clock: Clock) -> None:
    ids = []
    for n in range(5):
        clock.now += 1
        ids += [a.id for a in await store.add(["ann"], AlertKind.SLA_AT_RISK, BREACHED, {"number": n})]
    assert [a.id for a in await store.for_member("ann", [])] == ids[::-1]
    assert [a.id for a in await store.for_member("ann", [], limit=2)] == ids[:2:-1]
    await store.mark_read("ann", [], [ids[4], ids[2]])
    assert [a.id for a in await store.for_member("ann", [], unread_only=True)] == [ids[3], ids[1], ids[0]]
    assert await store.unread_count("ann", []) == 3


async def test_alerts_written_in_one_instant_keep_their_order(store: AlertStore) -> None:
    ids = [(await store.add(["ann"], AlertKind.SLA_AT_RISK, BREACHED, {"number": n}))[0].id for n in range(3)]
    assert [a.params["number"] for a in await store.for_member("ann", [])] == [2, 1, 0]
    assert ids == sorted(ids)


async def test_one_add_writes_one_alert_per_distinct_recipient(store: AlertStore) -> None:
    added = await store.add(["ann", "", SUPERVISORS, "ann", "lee"], AlertKind.SLA_BREACHED, BREACHED, {"number": 7})
    assert [a.recipient for a in added] == ["ann", "role:supervisor", "lee"]
    assert len({a.id for a in added}) == 3
    # ann holds the supervisor role too: addressed by name and by role, she sees the alert once, counts it once,
    # and reading it reads both copies; sam, a supervisor not named, keeps his own unread copy.
    (seen,) = await store.for_member("ann", SUPERVISOR_ROLES)
    assert seen.params == {"number": 7} and await store.unread_count("ann", SUPERVISOR_ROLES) == 1
    assert await store.mark_read("ann", SUPERVISOR_ROLES, [seen.id]) == 2
    assert await store.unread_count("ann", SUPERVISOR_ROLES) == 0
    assert await store.unread_count("sam", SUPERVISOR_ROLES) == 1
    assert await store.add(["", ""], AlertKind.SLA_AT_RISK, BREACHED, {}) == []


async def test_a_member_cannot_mark_someone_elses_alert_read(store: AlertStore) -> None:
    (anns,) = await store.add(["ann"], AlertKind.SLA_AT_RISK, BREACHED, {"number": 1})
    (sups,) = await store.add([SUPERVISORS], AlertKind.SLA_BREACHED, BREACHED, {"number": 1})
    assert await store.mark_read("bob", ["agent"], [anns.id, sups.id, 999_999]) == 0
    assert await store.unread_count("ann", ["agent"]) == 1
    assert await store.unread_count("sam", SUPERVISOR_ROLES) == 1


async def test_marking_read_twice_or_at_once_marks_each_alert_once(store: AlertStore) -> None:
    added = await store.add(["ann", role_recipient("agent")], AlertKind.SLA_AT_RISK, BREACHED, {"number": 1})
    results = await asyncio.gather(*(store.mark_read("ann", ["agent"]) for _ in range(10)))
    assert sum(results) == len(added) == 2
    assert await store.mark_read("ann", ["agent"], [a.id for a in added]) == 0
    assert await store.mark_read("ann", ["agent"], []) == 0
    assert await store.unread_count("ann", ["agent"]) == 0


async def test_old_alerts_are_neither_shown_nor_counted_and_prune_deletes_them(store: AlertStore, clock: Clock) -> None:
    (old,) = await store.add(["ann"], AlertKind.SLA_AT_RISK, BREACHED, {"number": 1})
    await store.mark_read("ann", [], [old.id])
    clock.now += 600
    (recent,) = await store.add(["ann"], AlertKind.SLA_AT_RISK, BREACHED, {"number": 2})
    clock.now += 500  # `old` is now 1100 s old, past the 1000 s window
    assert [a.id for a in await store.for_member("ann", [])] == [recent.id]
    assert await store.unread_count("ann", []) == 1
    assert await store.prune() == 1
    assert await store.prune() == 0
    assert [a.id for a in await store.for_member("ann", [])] == [recent.id]


@pytest.mark.parametrize(
    ("recipients", "title", "params", "link"),
    [
        ("ann", BREACHED, {}, ""),  # one string, not a list of names
        (["role:"], BREACHED, {}, ""),
        (["ann\n"], BREACHED, {}, ""),
        ([" "], BREACHED, {}, ""),
        (["ann"], "", {}, ""),
        (["ann"], BREACHED, {"when": object()}, ""),
        (["ann"], BREACHED, {}, "javascript:alert(1)"),
        (["ann"], BREACHED, {}, "//evil.example/x"),
        (["ann"], BREACHED, {}, "https://evil.example/"),
    ],
)
async def test_a_bad_alert_is_refused_and_nothing_is_written(
    store: AlertStore, recipients: list[str], title: str, params: dict[str, object], link: str
) -> None:
    with pytest.raises(InvalidAlert):
        await store.add(recipients, AlertKind.SLA_AT_RISK, title, params, link)
    assert await store.unread_count("ann", []) == 0


async def test_titles_are_translated_when_read_with_their_parameters(store: AlertStore) -> None:
    await store.add([SUPERVISORS], AlertKind.SLA_BREACHED, BREACHED, {"number": "FD-000009"})
    (read,) = await store.for_member("sam", SUPERVISOR_ROLES)
    assert read.title_in("en") == "Ticket FD-000009 missed its first-response target"
    assert read.title_in("zh") == "工单 FD-000009 已超出首次响应时限"
    data = read.to_dict("zh")
    assert data["title"] == data["titles"]["zh"] == "工单 FD-000009 已超出首次响应时限"
    assert data["titles"]["en"] == "Ticket FD-000009 missed its first-response target"
    assert (data["title_id"], data["kind"], data["read"]) == (BREACHED, "sla_breached", False)


def test_a_title_with_a_missing_parameter_still_reads() -> None:
    alert = Alert(1, "ann", "custom", "Ticket {number} for {team}", {"number": "FD-1"})
    assert alert.title_in("en") == "Ticket FD-1 for {team}"
    assert Alert(2, "ann", "custom", "Stray { brace", {}).title_in("zh") == "Stray { brace"


def test_every_sla_clock_has_a_title_and_an_unknown_one_falls_back() -> None:
    for kind in (AlertKind.SLA_AT_RISK, AlertKind.SLA_BREACHED):
        for metric in ("first_response", "next_reply", "resolution"):
            assert "{number}" in sla_title(kind, metric)
        assert sla_title(kind, "something_new") == sla_title(kind, "")
