"""Unanswered questions: kept once per conversation, grouped by similarity with counts, made into a draft at once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from backends.sql import Database
from kb.service import KnowledgeBaseService
from kb.store import EntryStatus
from kb.unanswered import (
    UnansweredQuestion,
    UnansweredReason,
    UnansweredState,
    UnansweredStore,
    clarify_before_handoff,
    group_questions,
)
from tests.kb.editor_support import fast_encoders, fast_settings


@dataclass
class Line:
    custom: dict[str, Any] = field(default_factory=dict)


class Transcript:
    def __init__(self, lines: Sequence[Line]) -> None:
        self.lines = list(lines)

    async def recent(self, conversation_id: str, limit: int) -> Sequence[Line]:
        return self.lines[-limit:]


def question(n: int, text: str, reason: UnansweredReason = UnansweredReason.NOT_FOUND, lang: str = "en") -> Any:
    return UnansweredQuestion(id=f"q{n}", query=text, language=lang, reason=reason, at=float(n))


def test_wordings_that_mean_the_same_thing_share_a_group_with_counts() -> None:
    topics = {"gift": np.array([1.0, 0.0, 0.0]), "paypal": np.array([0.0, 1.0, 0.0]), "zh": np.array([0.0, 0.0, 1.0])}

    def vectors(texts: list[str]) -> np.ndarray:
        return np.stack(
            [topics["gift" if "gift" in t.lower() else "paypal" if "paypal" in t.lower() else "zh"] for t in texts]
        )

    items = [
        question(1, "Do you sell gift cards?"),
        question(2, "do you sell gift cards"),  # same wording, other case and punctuation
        question(3, "Can I buy a Gift card?", UnansweredReason.UNHELPFUL),
        question(4, "Can I pay with PayPal?"),
        question(5, "有礼品卡吗？", lang="zh"),
        question(6, "Do you sell gift cards?", UnansweredReason.CLARIFY_HANDOFF),
    ]
    groups = group_questions(items, vectors, threshold=0.8)
    assert [(g.question, g.count, g.language) for g in groups] == [
        ("Do you sell gift cards?", 4, "en"),
        ("有礼品卡吗？", 1, "zh"),
        ("Can I pay with PayPal?", 1, "en"),
    ]
    gift = groups[0]
    assert gift.reasons == {"not_found": 2, "unhelpful_answer": 1, "clarify_handoff": 1}
    assert gift.examples == ["Do you sell gift cards?", "Can I buy a Gift card?"]
    assert sorted(gift.ids) == ["q1", "q2", "q3", "q6"] and gift.last_at == 6.0


def test_only_a_clarify_question_right_before_the_handoff_counts() -> None:
    clarify = {"kb": {"query": "warranty or refund?", "language": "en", "decision": "clarify", "confidence": 0.4}}
    answer = {"kb": {"query": "refund time", "language": "en", "decision": "answer", "confidence": 0.9}}
    assert (
        clarify_before_handoff([Line(answer), Line(clarify), Line({"handoff": {"reason": "customer_request"}})])
        == (clarify["kb"])
    )
    assert clarify_before_handoff([Line(clarify), Line(answer)]) is None
    assert clarify_before_handoff([Line(), Line({"ticket": {}})]) is None


async def test_every_replica_hearing_one_handoff_keeps_one_row(database: Database) -> None:
    store = UnansweredStore(database)
    first = await store.record("Which warranty?", "en", UnansweredReason.CLARIFY_HANDOFF, conversation_id="c1")
    second = await store.record("Which  warranty?", "en", UnansweredReason.CLARIFY_HANDOFF, conversation_id="c1")
    assert (first, second) == (True, False)
    assert await store.record("Which warranty?", "en", UnansweredReason.NOT_FOUND)
    assert await store.record("Which warranty?", "en", UnansweredReason.NOT_FOUND)  # no conversation: every ask counts
    assert not await store.record("   ", "en", UnansweredReason.NOT_FOUND)
    assert len(await store.open_items()) == 3


@pytest.fixture
async def service(database: Database) -> AsyncIterator[KnowledgeBaseService]:
    clarify = {"kb": {"query": "Is it covered?", "language": "en", "decision": "clarify", "confidence": 0.41}}
    built = KnowledgeBaseService(
        database,
        fast_settings(group_threshold=0.8),
        encoders=fast_encoders(),
        transcripts=Transcript([Line(clarify), Line({"handoff": {"reason": "customer_request"}})]),
    )
    await built.start()
    yield built
    await built.close()


async def test_a_handoff_after_a_clarify_question_is_kept_as_unanswered(service: KnowledgeBaseService) -> None:
    assert await service.note_handoff("conv-1")
    assert not await service.note_handoff("conv-1")  # the same event heard again
    items = await service.unanswered.open_items()
    assert [(i.query, i.reason, i.conversation_id) for i in items] == [
        ("Is it covered?", UnansweredReason.CLARIFY_HANDOFF, "conv-1")
    ]


async def test_an_editor_turns_a_group_into_one_draft_and_it_leaves_the_list(service: KnowledgeBaseService) -> None:
    for text in (
        "Do you sell gift cards?",
        "do you sell gift cards",
        "Do you sell giftcards",
        "Can I pay with PayPal?",
    ):
        await service.search(text, "en")  # the KB is empty: all not found
    groups = await service.unanswered_groups()
    assert [(g.question, g.count) for g in groups] == [("Do you sell gift cards?", 3), ("Can I pay with PayPal?", 1)]
    draft = await service.draft_from_unanswered(groups[0].ids, "eve")
    assert draft.status is EntryStatus.DRAFT and draft.question == "Do you sell gift cards?"
    assert draft.paraphrases == ("Do you sell giftcards",) and draft.tags == ("from-unanswered",)
    assert [g.question for g in await service.unanswered_groups()] == ["Can I pay with PayPal?"]
    assert await service.dismiss_unanswered(groups[1].ids) == 1
    assert await service.unanswered_groups() == []
    closed = await service.unanswered.get_many(groups[0].ids)
    assert {i.id for i in closed} == set(groups[0].ids)
    assert UnansweredState.DRAFTED.value == "drafted"
