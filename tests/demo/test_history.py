"""The demo history generator: the facts it makes keep the record's contract (kinds, data keys, order) and look like
a service day (both languages, every channel and category, evenings busier than nights, SLA misses)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

import pytest

from demo.history import CHANNELS, LANGUAGES, DemoOptions, Story, generate
from intake.models import Category, Priority
from record import ServiceEvent, ServiceEventKind

K = ServiceEventKind
END = dt.datetime(2026, 11, 28, 15, 0, tzinfo=dt.UTC).timestamp()  # a Saturday, 23:00 in Beijing
OPTIONS = DemoOptions(end=END, days=60, per_day=40, seed=7)

# Each kind's data keys, as record/models.py documents them and the emitters write them ("demo" is the mark).
DATA_KEYS: dict[ServiceEventKind, set[str]] = {
    K.CONVERSATION_OPENED: set(),
    K.CONVERSATION_CLOSED: {"cause", "opened_at", "last_customer_at"},
    K.CUSTOMER_MESSAGE: {"button", "kind"},
    K.BOT_TURN: {
        "outcome",
        "intent",
        "intent_confidence",
        "kb_decision",
        "kb_entry",
        "kb_confidence",
        "kb_reason",
        "kb_query",
        "handoff_reason",
        "rasa_ms",
    },
    K.KB_FEEDBACK: {"helpful", "kb_entry", "kb_confidence"},
    K.HANDOFF_REQUESTED: {"reason", "scores", "tier", "outcome", "first_response_due"},
    K.QUEUED: {"cause", "reason", "tier", "enqueued_at", "first_response_due", "position", "eta_s"},
    K.ASSIGNED: {"via", "enqueued_at", "wait_s"},
    K.AGENT_REPLY: {"first", "assigned_at", "enqueued_at"},
    K.TRANSFERRED: {"from_agent", "to_agent", "to_queue"},
    K.WRAP_UP: {"handle_s", "replied", "noted"},
    K.BACK_TO_BOT: {"cause", "wrap_up_s"},
    K.ABANDONED: {"cause", "wait_s"},
    K.TICKET_CREATED: {"urgency", "first_response_due", "resolution_due", "order"},
    K.TICKET_FIRST_RESPONSE: {"due", "created_at"},
    K.TICKET_REPLY: set(),
    K.TICKET_RESOLVED: {"due", "created_at", "first_responded_at"},
    K.TICKET_REOPENED: {"resolution_due"},
    K.TICKET_ASSIGNED: {"from", "to"},
    K.SURVEY_SENT: {"survey", "follow_up"},
}
# Kinds the demo does not make: agents moving tickets between teams or changing their priority, or labelling the
# bot's answers (its transcripts hold no `kb` lines to label).
NOT_MADE = {K.TICKET_TRANSFERRED, K.TICKET_PRIORITY, K.KB_LABEL}


@pytest.fixture(scope="module")
def stories() -> list[Story]:
    return list(generate(OPTIONS))


@pytest.fixture(scope="module")
def events(stories: list[Story]) -> list[ServiceEvent]:
    return [e for s in stories for e in s.events]


def by(events: list[ServiceEvent], key: str) -> dict[str, list[ServiceEvent]]:
    groups: dict[str, list[ServiceEvent]] = defaultdict(list)
    for e in events:
        value = getattr(e, key)
        if value is not None:
            groups[value].append(e)
    return groups


def test_ids_are_unique_and_marked_as_demo(stories: list[Story], events: list[ServiceEvent]) -> None:
    assert len({e.id for e in events}) == len(events)
    conversation_ids = [s.conversation["id"] for s in stories]
    assert len(set(conversation_ids)) == len(conversation_ids)
    messages = [m["id"] for s in stories for m in s.messages]
    assert len(set(messages)) == len(messages)
    customers = [s.customer["id"] for s in stories if s.customer is not None]
    assert len(set(customers)) == len(customers)
    assert all(e.conversation_id and e.conversation_id.startswith("demo-") for e in events)
    assert all(e.customer_id and e.customer_id.startswith("demo-") for e in events)
    assert all(e.data["demo"] is True for e in events)
    assert all(e.ticket.startswith("DEMO-") for e in events if e.ticket is not None)


def test_every_kind_with_its_documented_data_keys(events: list[ServiceEvent]) -> None:
    assert {e.kind for e in events} == set(ServiceEventKind) - NOT_MADE
    for e in events:
        keys = set(e.data) - {"demo"}
        if e.kind is K.TICKET_STATUS:
            assert {"from", "to"} <= keys <= {"from", "to", "auto"}
        elif e.kind is K.SURVEY_ANSWERED:
            assert keys in (
                {"survey", "answer", "solved"},
                {"survey", "answer", "score"},
                {"survey", "answer", "comment"},
            )
        else:
            assert keys == DATA_KEYS[e.kind], e.kind


def test_the_same_options_give_the_same_history(events: list[ServiceEvent]) -> None:
    again = [e for s in generate(OPTIONS) for e in s.events]
    assert [e.to_row() for e in again] == [e.to_row() for e in events]
    other = [e.id for s in generate(DemoOptions(end=END, days=60, per_day=40, seed=8)) for e in s.events]
    assert other[:50] != [e.id for e in events][:50]


def test_nothing_happens_after_the_end_and_days_are_covered(events: list[ServiceEvent]) -> None:
    assert max(e.at for e in events) <= END
    zone = ZoneInfo("Asia/Shanghai")
    days = {dt.datetime.fromtimestamp(e.at, zone).date() for e in events if e.kind is K.CONVERSATION_OPENED}
    assert len(days) == 60


def test_each_conversation_runs_in_order(events: list[ServiceEvent]) -> None:
    for conversation, story in by(events, "conversation_id").items():
        assert story[0].kind is K.CONVERSATION_OPENED, conversation
        assert [e.at for e in story] == sorted(e.at for e in story)
        # Read back in the record's order (time, then id): the same order, even for facts of one instant.
        assert sorted(story, key=lambda e: (e.at, e.id)) == story
        kinds = [e.kind for e in story]
        for i, kind in enumerate(kinds):
            if kind is K.ASSIGNED:
                assert K.HANDOFF_REQUESTED in kinds[:i] and K.QUEUED in kinds[:i], conversation
            if kind in (K.AGENT_REPLY, K.WRAP_UP):
                assert K.ASSIGNED in kinds[:i], conversation
            if kind is K.ABANDONED:
                assert K.ASSIGNED not in kinds[:i], conversation
        assert kinds.count(K.CONVERSATION_CLOSED) <= 1


def test_bot_messages_never_count_as_agent_replies(events: list[ServiceEvent]) -> None:
    for e in events:
        if e.kind is K.AGENT_REPLY:
            assert e.actor == f"agent:{e.agent}"
        if e.kind is K.BOT_TURN:
            assert e.actor == "bot" and e.agent is None


def test_tickets_resolve_after_they_were_created(events: list[ServiceEvent]) -> None:
    tickets = by(events, "ticket")
    assert len(tickets) > 100
    for number, story in tickets.items():
        created = story[0]
        assert created.kind is K.TICKET_CREATED, number
        for e in story:
            assert e.at >= created.at
            if e.kind in (K.TICKET_RESOLVED, K.TICKET_FIRST_RESPONSE):
                assert e.data["created_at"] == created.at and e.at > created.at
            if e.kind is K.TICKET_RESOLVED:
                assert e.data["first_responded_at"] <= e.at
        reopens = [e for e in story if e.kind is K.TICKET_REOPENED]
        resolved = [e for e in story if e.kind is K.TICKET_RESOLVED]
        assert len(resolved) <= len(reopens) + 1


def test_every_category_priority_language_and_channel_occurs(events: list[ServiceEvent]) -> None:
    created = [e for e in events if e.kind is K.TICKET_CREATED]
    assert {e.category for e in created} == {c.value for c in Category}
    assert {e.priority for e in created} == {p.value for p in Priority}
    opened = [e for e in events if e.kind is K.CONVERSATION_OPENED]
    assert {e.language for e in opened} == set(LANGUAGES)
    assert {e.channel for e in opened} == set(CHANNELS)
    reasons = {e.data["reason"] for e in events if e.kind is K.HANDOFF_REQUESTED}
    assert {"customer_request", "kb_not_found", "complaint", "urgent_category"} <= reasons


def test_some_slas_are_missed_some_urgent_ones_too(events: list[ServiceEvent]) -> None:
    first = [e for e in events if e.kind is K.TICKET_FIRST_RESPONSE]
    late = [e for e in first if e.at > e.data["due"]]
    assert 0.02 < len(late) / len(first) < 0.3
    resolved = [e for e in events if e.kind is K.TICKET_RESOLVED]
    assert any(e.at > e.data["due"] for e in resolved)
    assert any(e.priority == "urgent" for e in late + [e for e in resolved if e.at > e.data["due"]])


def test_surveys_are_answered_with_scores_one_to_five(events: list[ServiceEvent]) -> None:
    sent = {e.data["survey"]: e for e in events if e.kind is K.SURVEY_SENT}
    answers = [e for e in events if e.kind is K.SURVEY_ANSWERED]
    scores = [e.data["score"] for e in answers if e.data["answer"] == "score"]
    assert scores and set(scores) <= {1, 2, 3, 4, 5} and len(set(scores)) == 5
    assert all(sent[e.data["survey"]].at <= e.at for e in answers)
    comments = {e.language for e in answers if e.data["answer"] == "comment"}
    assert comments == set(LANGUAGES)


def test_evenings_are_busier_than_nights_and_weekdays_than_weekends(events: list[ServiceEvent]) -> None:
    zone = ZoneInfo("Asia/Shanghai")
    opened = [dt.datetime.fromtimestamp(e.at, zone) for e in events if e.kind is K.CONVERSATION_OPENED]
    hours = Counter(t.hour for t in opened)
    assert sum(hours[h] for h in (19, 20, 21)) > 5 * sum(hours[h] for h in (2, 3, 4))
    days = Counter(t.date() for t in opened)
    weekday = [n for d, n in days.items() if d.weekday() < 5]
    weekend = [n for d, n in days.items() if d.weekday() >= 5]
    assert sum(weekday) / len(weekday) > 1.2 * sum(weekend) / len(weekend)


def test_transcripts_hold_what_the_facts_say(stories: list[Story]) -> None:
    story = next(s for s in stories if any(e.kind is K.AGENT_REPLY for e in s.events))
    senders = Counter(m["sender"] for m in story.messages)
    replies = sum(e.kind is K.AGENT_REPLY for e in story.events)
    assert senders["agent"] == replies
    assert senders["customer"] == sum(e.kind is K.CUSTOMER_MESSAGE for e in story.events)
    assert [m["seq"] for m in story.messages] == list(range(1, len(story.messages) + 1))
    assert story.conversation["next_seq"] == len(story.messages)
