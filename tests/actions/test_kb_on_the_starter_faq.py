"""`action_answer_from_kb` over the real retriever and the starter FAQ (kb/demo): the live bot's decision logic,
with the thresholds the KB fitted on its own questions, not scripted results.

Stock encoders (no fine-tuning, which would take minutes), so the figures are a floor of what production sees.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import ActionAnswerFromKB, ActionServices
from kb.decision import Decision, KBResult, Reason
from kb.io import read_yaml
from kb.retrieval import HybridRetriever, IndexedEntry
from kb.service import STARTER_FAQ
from kb.settings import RetrievalSettings

from .conftest import buttons, customs, make_tracker, texts

pytestmark = pytest.mark.slow


class RetrieverKB:
    """The service's `search` without the store: the retriever in a worker thread, as the service runs it."""

    def __init__(self, retriever: HybridRetriever) -> None:
        self.retriever = retriever

    async def search(self, query: str, language: str) -> KBResult:
        return await asyncio.to_thread(self.retriever.search, query, language)


@pytest.fixture(scope="module")
def starter_retriever() -> HybridRetriever:
    records, problems = read_yaml(STARTER_FAQ.read_text(encoding="utf-8"))
    assert not problems
    entries = [
        IndexedEntry(
            r.entry_id,
            (r.draft.question, *r.draft.paraphrases),
            r.draft.answer,
            r.draft.category,
            r.draft.language,
        )
        for r in records
    ]
    retriever = HybridRetriever(RetrievalSettings(fine_tune=None))
    retriever.upsert_many(entries)
    retriever.adapt()
    return retriever


@pytest.fixture
def live_services(services: ActionServices, starter_retriever: HybridRetriever) -> ActionServices:
    return replace(services, knowledge_base=RetrieverKB(starter_retriever))


async def ask(services: ActionServices, text: str, language: str = "en") -> tuple[CollectingDispatcher, dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text, intent="nlu_fallback", slots={"language": language})
    await ActionAnswerFromKB(services).run(dispatcher, tracker, {})
    payloads = customs(dispatcher, "kb")
    assert payloads, "the action always attaches the KB's decision"
    return dispatcher, payloads[0]


def a_person_is_offered_or_called(dispatcher: CollectingDispatcher) -> bool:
    """Not answered means: a 'talk to a person' button (rephrase or clarify) or a handoff already under way."""
    offered = any(b["payload"] == "/request_human" for b in buttons(dispatcher))
    return offered or bool(customs(dispatcher, "handoff"))


def test_the_starter_faq_fits_its_own_thresholds(starter_retriever: HybridRetriever) -> None:
    fitted = starter_retriever.thresholds()
    assert set(fitted) == {"en", "zh"}
    for thresholds in fitted.values():
        assert thresholds.source == "kb"
        assert 0 < thresholds.clarify <= thresholds.answer < 1


async def test_a_clear_question_is_answered_with_the_right_entry(live_services: ActionServices) -> None:
    dispatcher, kb = await ask(live_services, "how many days does delivery take")
    assert kb["decision"] == Decision.ANSWER.value and kb["candidates"][0]["entry_id"] == "en-delivery-time"
    assert texts(dispatcher)[-1] == "Was this helpful?"


@pytest.mark.parametrize(
    ("message", "language"),
    [
        ("What's the weather like on Mars tomorrow?", "en"),
        ("Who won the football world cup in 1998?", "en"),
        ("Tell me a joke", "en"),
        ("今天天气怎么样", "zh"),
    ],
)
async def test_an_off_topic_question_is_not_answered_with_an_faq_entry(
    live_services: ActionServices, message: str, language: str
) -> None:
    dispatcher, kb = await ask(live_services, message, language)
    assert kb["decision"] != Decision.ANSWER.value, kb["explanation"]
    assert not {"Was this helpful?", "这个回答对您有帮助吗？"} & set(texts(dispatcher))
    assert a_person_is_offered_or_called(dispatcher)


@pytest.mark.parametrize("message", ["Single", "65", "Meerut"])
async def test_a_one_word_fragment_is_not_answered_with_an_faq_entry(
    live_services: ActionServices, message: str
) -> None:
    dispatcher, kb = await ask(live_services, message)
    assert kb["decision"] != Decision.ANSWER.value, kb["explanation"]
    assert kb["reason"] in {Reason.LOW_CONFIDENCE, Reason.UNSURE}
    assert a_person_is_offered_or_called(dispatcher)


async def test_a_clarify_question_offers_two_or_three_entries_and_a_person(live_services: ActionServices) -> None:
    # Two refund entries (how the money comes back, how long it takes) fit this message about equally.
    dispatcher, kb = await ask(live_services, "refund or exchange")
    assert kb["decision"] == Decision.CLARIFY.value, kb["explanation"]
    offered = [b["payload"] for b in buttons(dispatcher) if b["payload"].startswith("/ask_question")]
    assert 2 <= len(offered) <= 3 and len(offered) == kb["offered"]
    assert buttons(dispatcher)[-1]["payload"] == "/request_human"
