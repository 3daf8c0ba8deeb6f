"""The few common questions a new chat offers as buttons ("starter questions"), per language.

Owns which published FAQ questions a customer is offered before they type anything: the entries the bot answered
most often in the service record's recent `bot_turn` facts first, then the rest in the order they were written (a
seeded FAQ's file order: its authors put the common questions first), taking one entry per category before a second
of any, so four buttons cover four topics. Only published entries of the language are ever offered; an archived or
draft entry the record still counts is skipped. Reads the record once per call, bounded (`STARTER_RECORD_EVENTS`,
`STARTER_LOOKBACK_S`); `KnowledgeBaseService.starter_questions` caches the answer briefly. Never sends anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from kb.constants import STARTER_LOOKBACK_S, STARTER_RECORD_EVENTS
from kb.decision import Decision
from kb.evidence import recorded_decision
from kb.store import FAQEntry
from record import EventQuery, ServiceEventKind, ServiceRecord


async def answer_counts(record: ServiceRecord, language: str, now: float) -> Counter[str]:
    """Entry id → how many bot turns in `language` answered with it in the `STARTER_LOOKBACK_S` seconds before
    `now` (epoch seconds); reads at most `STARTER_RECORD_EVENTS` facts (the window's oldest: a sample is enough)."""
    query = EventQuery(since=now - STARTER_LOOKBACK_S, kinds=(ServiceEventKind.BOT_TURN,), language=language)
    counts: Counter[str] = Counter()
    for event in await record.read(query, limit=STARTER_RECORD_EVENTS):
        decision = recorded_decision(event)
        if decision is not None and decision.decision is Decision.ANSWER and decision.entry:
            counts[decision.entry] += 1
    return counts


def pick_starters(entries: Iterable[FAQEntry], answered: Mapping[str, int], limit: int) -> list[str]:
    """Up to `limit` questions from the published `entries`: most answered first (ties, and the never answered, in
    the order written: `created_at`, then id), one per category before a second of any."""
    ranked = sorted(entries, key=lambda e: (-answered.get(e.id, 0), e.created_at, e.id))
    categories: set[str] = set()
    first: list[FAQEntry] = []
    rest: list[FAQEntry] = []
    for entry in ranked:
        (rest if entry.category in categories else first).append(entry)
        categories.add(entry.category)
    chosen: Sequence[FAQEntry] = (first + rest)[:limit]
    return [entry.question for entry in chosen]


__all__ = ["answer_counts", "pick_starters"]
