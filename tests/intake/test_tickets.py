"""One contract test for TicketStore, run on SQLite and PostgreSQL (the `database` fixture)."""

import asyncio
import itertools

import pytest

from backends.sql import Database
from intake import (
    Category,
    EventKind,
    IllegalTransition,
    Priority,
    Ticket,
    TicketDraft,
    TicketEvent,
    TicketFilter,
    TicketStatus,
    TicketStore,
    Urgency,
)
from intake.sla import SlaDeadlines


class FakeClock:
    def __init__(self) -> None:
        self._ticks = itertools.count(1000)

    def __call__(self) -> float:
        return float(next(self._ticks))


@pytest.fixture
async def store(database: Database) -> TicketStore:
    store = TicketStore(database, clock=FakeClock())
    return store


def draft(customer: str = "c1", **fields: object) -> TicketDraft:
    base: dict[str, object] = {
        "customer_id": customer,
        "conversation_id": "conv-1",
        "order_number": "1000000001",
        "product": "PowerMix 900 Blender",
        "category": Category.PRODUCT_FAULT,
        "description": "搅拌机冒烟了",
        "urgency": Urgency.URGENT,
        "contact": "alex@example.com",
        "language": "zh",
    }
    base.update(fields)
    return TicketDraft(**base)  # type: ignore[arg-type]


async def create(store: TicketStore, customer: str = "c1", priority: Priority = Priority.NORMAL) -> Ticket:
    return await store.create(draft(customer), priority=priority, deadlines=SlaDeadlines(5000.0, 9000.0))


async def test_tickets_get_readable_sequential_numbers_and_keep_every_field(store: TicketStore) -> None:
    first = await create(store, priority=Priority.URGENT)
    second = await create(store)
    assert (first.number, second.number) == ("FD-000001", "FD-000002")
    assert first.status is TicketStatus.NEW and first.priority is Priority.URGENT
    assert first.category is Category.PRODUCT_FAULT and first.urgency is Urgency.URGENT
    assert first.description == "搅拌机冒烟了" and first.contact == "alex@example.com"
    assert (first.first_response_due, first.resolution_due) == (5000.0, 9000.0)
    assert first.to_dict()["status"] == "new"


async def test_concurrent_creates_never_share_a_number(store: TicketStore) -> None:
    tickets = await asyncio.gather(*(create(store, f"c{i}") for i in range(30)))
    assert sorted(t.seq for t in tickets) == list(range(1, 31))


async def test_a_form_that_got_stuck_still_makes_a_ticket_with_what_it_has(store: TicketStore) -> None:
    ticket = await store.create(
        TicketDraft(customer_id="c1", description="it broke"),
        priority=Priority.NORMAL,
        deadlines=SlaDeadlines(1.0, 2.0),
    )
    assert ticket.category is None and ticket.order_number is None and ticket.description == "it broke"


async def test_customers_see_only_their_own_tickets(store: TicketStore) -> None:
    mine = await create(store, "c1")
    await create(store, "c2")
    assert await store.get(mine.number, customer_id="c1") == mine
    assert await store.get(mine.number.lower(), customer_id="c1") == mine
    assert await store.get(mine.number, customer_id="c2") is None
    assert [t.customer_id for t in await store.list_for_customer("c2")] == ["c2"]
    assert await store.timeline(mine.number, customer_id="c2") == []
    assert await store.get_for_staff(mine.number) == mine


async def test_the_lifecycle_moves_through_legal_states_and_records_history(store: TicketStore) -> None:
    ticket = await create(store)
    path = [
        (TicketStatus.OPEN, "agent:7", "looking"),
        (TicketStatus.PENDING_CUSTOMER, "agent:7", "asked for a photo"),
        (TicketStatus.PENDING_INTERNAL, "customer", "sent photo"),
        (TicketStatus.RESOLVED, "agent:7", "replacement sent"),
        (TicketStatus.OPEN, "customer", "still broken"),
        (TicketStatus.RESOLVED, "agent:7", "refunded"),
        (TicketStatus.CLOSED, "system", ""),
    ]
    for status, actor, note in path:
        moved = await store.transition(ticket.number, status, actor=actor, note=note)
        assert moved is not None and moved.status is status
    final = await store.get(ticket.number, customer_id="c1")
    assert final is not None and final.closed_at is not None
    timeline = await store.timeline(ticket.number)
    history = [e for e in timeline if e.kind is not EventKind.NOTE]
    assert [h.data["to"] for h in history] == ["new"] + [s.value for s, _, _ in path]
    assert history[0].kind is EventKind.CREATED and history[1].data["from"] == "new"
    # A note given with a change is an internal note beside it; the status event itself carries no text.
    notes = [(e.body, e.actor, e.data["with_status"], e.public) for e in timeline if e.kind is EventKind.NOTE]
    assert notes[1] == ("asked for a photo", "agent:7", "pending_customer", False)
    assert all(h.body == "" for h in history[1:])


async def test_reopening_clears_the_resolution_time(store: TicketStore) -> None:
    ticket = await create(store)
    resolved = await store.transition(ticket.number, TicketStatus.RESOLVED, actor="a")
    assert resolved is not None and resolved.resolved_at is not None
    reopened = await store.transition(ticket.number, TicketStatus.OPEN, actor="customer", customer_id="c1")
    assert reopened is not None and reopened.resolved_at is None


@pytest.mark.parametrize(
    ("steps", "illegal"),
    [
        ([], TicketStatus.NEW),
        ([TicketStatus.OPEN], TicketStatus.NEW),
        ([TicketStatus.CLOSED], TicketStatus.OPEN),
        ([TicketStatus.RESOLVED], TicketStatus.PENDING_CUSTOMER),
        ([TicketStatus.RESOLVED, TicketStatus.CLOSED], TicketStatus.OPEN),
    ],
)
async def test_illegal_transitions_are_refused_and_leave_no_history(
    store: TicketStore, steps: list[TicketStatus], illegal: TicketStatus
) -> None:
    ticket = await create(store)
    for step in steps:
        await store.transition(ticket.number, step, actor="a")
    with pytest.raises(IllegalTransition):
        await store.transition(ticket.number, illegal, actor="a")
    assert len(await store.timeline(ticket.number)) == len(steps) + 1


async def test_a_stale_or_foreign_transition_gets_none(store: TicketStore) -> None:
    ticket = await create(store)
    assert await store.transition("FD-999999", TicketStatus.CLOSED, actor="a") is None
    assert await store.transition(ticket.number, TicketStatus.CLOSED, actor="c2", customer_id="c2") is None
    assert (
        await store.transition(ticket.number, TicketStatus.RESOLVED, actor="a", expected_from=TicketStatus.OPEN) is None
    )


async def test_of_concurrent_identical_transitions_exactly_one_wins(store: TicketStore) -> None:
    ticket = await create(store)
    results = await asyncio.gather(
        *(store.transition(ticket.number, TicketStatus.OPEN, actor=f"agent:{i}") for i in range(20)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, Ticket)]
    # Losers either saw the old status and lost the compare-and-set (None) or saw the new one (illegal move).
    assert len(winners) == 1
    assert all(r is None or isinstance(r, Ticket | IllegalTransition) for r in results)
    assert len(await store.timeline(ticket.number)) == 2


async def test_listeners_hear_each_committed_change_and_a_failing_listener_does_not_undo_it(
    store: TicketStore,
) -> None:
    heard: list[tuple[str, str | None, str]] = []

    async def listener(event: TicketEvent, ticket: Ticket) -> None:
        heard.append((ticket.customer_id, event.data.get("from"), event.data["to"]))

    async def broken(event: TicketEvent, ticket: Ticket) -> None:
        raise RuntimeError("notifier down")

    store.add_listener(broken)
    store.add_listener(listener)
    ticket = await create(store)
    await store.transition(ticket.number, TicketStatus.OPEN, actor="agent:1")
    await store.transition(ticket.number, TicketStatus.RESOLVED, actor="agent:1")
    assert heard == [("c1", None, "new"), ("c1", "new", "open"), ("c1", "open", "resolved")]
    store.remove_listener(listener)
    await store.transition(ticket.number, TicketStatus.CLOSED, actor="system")
    assert len(heard) == 3


async def test_listing_filters_by_status_priority_category_and_overdue(store: TicketStore) -> None:
    urgent = await create(store, "c1", Priority.URGENT)
    normal = await create(store, "c1", Priority.NORMAL)
    other = await create(store, "c2", Priority.HIGH)
    await store.transition(normal.number, TicketStatus.RESOLVED, actor="a")
    open_mine = await store.open_tickets_of("c1")
    assert [t.number for t in open_mine] == [urgent.number]
    newest_first = await store.list_for_customer("c1")
    assert [t.number for t in newest_first] == [normal.number, urgent.number]
    staff = await store.search(TicketFilter(priorities=[Priority.URGENT, Priority.HIGH]))
    assert {t.number for t in staff} == {urgent.number, other.number}
    assert len(await store.search(TicketFilter(categories=[Category.BILLING]))) == 0
    overdue = await store.search(TicketFilter(overdue_at=6000.0))
    assert {t.number for t in overdue} == {urgent.number, other.number}
    assert len(await store.search(TicketFilter(limit=1))) == 1


async def test_the_number_prefix_and_width_are_configurable(database: Database) -> None:
    store = TicketStore(database, prefix="SV", digits=8)
    ticket = await create(store)
    assert ticket.number == "SV-00000001"
