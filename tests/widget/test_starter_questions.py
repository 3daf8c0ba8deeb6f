"""GET /api/v1/faq/starters: the few published FAQ questions a new chat offers, per language."""

from __future__ import annotations

import re
import time

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.keys import KB, SERVICE_RECORD
from kb.store import EntryDraft, EntryStatus
from record import ServiceEvent, ServiceEventKind

CJK = re.compile(r"[\u4e00-\u9fff]")


async def starters(server: TestServer, query: str) -> tuple[int, dict[str, object]]:
    async with ClientSession() as session, session.get(server.make_url(f"/api/v1/faq/starters?{query}")) as response:
        return response.status, await response.json()


async def test_english_starters_are_four_published_questions_of_four_categories(frontdoor: TestServer) -> None:
    status, body = await starters(frontdoor, "language=en")
    assert status == 200 and body["language"] == "en"
    published = {e.question: e for e in await frontdoor.app[KB].store.published("en")}
    questions = body["questions"]
    assert isinstance(questions, list) and len(questions) == 4
    assert all(q in published for q in questions)
    assert len({published[q].category for q in questions}) == 4
    # Nothing answered yet: the FAQ's own order, its first entry first.
    assert questions[0] == "How long does delivery take?"


async def test_chinese_starters_are_chinese_questions(frontdoor: TestServer) -> None:
    status, body = await starters(frontdoor, "language=zh&limit=3")
    questions = body["questions"]
    assert status == 200 and body["language"] == "zh" and isinstance(questions, list) and len(questions) == 3
    assert all(CJK.search(q) for q in questions)
    assert {e.question for e in await frontdoor.app[KB].store.published("zh")} >= set(questions)


async def test_a_bad_or_missing_language_or_limit_is_a_400(frontdoor: TestServer) -> None:
    for query, code in [
        ("language=fr", "bad_language"),
        ("", "bad_language"),
        ("language=en&limit=0", "bad_limit"),
        ("language=en&limit=9", "bad_limit"),
        ("language=en&limit=two", "bad_limit"),
    ]:
        status, body = await starters(frontdoor, query)
        assert status == 400, query
        assert body["error"]["code"] == code  # type: ignore[index]


async def test_the_limit_caps_the_list(frontdoor: TestServer) -> None:
    _, two = await starters(frontdoor, "language=en&limit=2")
    _, eight = await starters(frontdoor, "language=en&limit=8")
    assert len(two["questions"]) == 2  # type: ignore[arg-type]
    assert len(eight["questions"]) == 8  # type: ignore[arg-type]
    assert eight["questions"][:2] == two["questions"]  # type: ignore[index]


async def test_only_published_entries_are_offered_and_the_most_answered_come_first(frontdoor: TestServer) -> None:
    service = frontdoor.app[KB]
    await service.store.set_status("en-delivery-time", EntryStatus.ARCHIVED, "editor")
    draft = EntryDraft("Is this draft offered?", "No.", "en", "delivery")
    await service.store.create(draft, "editor", status=EntryStatus.DRAFT)
    now = time.time()

    def answered(entry: str) -> ServiceEvent:
        data = {"kb_decision": "answer", "kb_entry": entry, "kb_confidence": 0.9}
        return ServiceEvent(
            kind=ServiceEventKind.BOT_TURN, at=now - 60, actor="bot", conversation_id="c1", language="en", data=data
        )

    # The archived entry was answered most, then the warranty claim: only the latter may lead.
    entries = ["en-delivery-time"] * 3 + ["en-warranty-claim"] * 2 + ["en-refund-time"]
    await frontdoor.app[SERVICE_RECORD].append([answered(entry) for entry in entries])
    _, body = await starters(frontdoor, "language=en&limit=8")
    questions = body["questions"]
    assert isinstance(questions, list)
    assert questions[:2] == ["How do I make a warranty claim?", "When will I get my refund?"]
    assert "How long does delivery take?" not in questions and "Is this draft offered?" not in questions


async def test_a_site_embedding_the_widget_may_read_the_starters(frontdoor: TestServer) -> None:
    url = frontdoor.make_url("/api/v1/faq/starters?language=en")
    async with ClientSession() as session, session.get(url, headers={"Origin": "https://shop.example"}) as response:
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"
