"""KnowledgeBaseService: the index follows the store incrementally, survives restarts, and seeds the starter FAQ."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.decision import Decision
from kb.io import FileFormat
from kb.service import ImportFailed
from kb.store import EntryDraft, EntryStatus
from tests.kb.conftest import Factory

ICELAND = EntryDraft(
    "Do you ship to Iceland?",
    "Yes, we deliver to Iceland in 5-8 working days.",
    "en",
    "delivery",
    ("Can I get my order delivered in Reykjavik?", "Is shipping to Iceland possible?"),
)


async def test_an_empty_store_is_seeded_with_the_starter_faq_in_both_languages(make_service: Factory) -> None:
    service = make_service(seed_demo=True)
    await service.start()
    await service.wait_ready()
    published = await service.store.published()
    by_language = {lang: [e for e in published if e.language == lang] for lang in ("en", "zh")}
    assert all(15 <= len(entries) <= 20 for entries in by_language.values())
    assert all(3 <= len(e.paraphrases) <= 5 for e in published)
    assert {e.category for e in published} == {"delivery", "returns", "refunds", "warranty", "invoices", "account"}
    assert (await service.search("Where is my parcel?", "en")).best.entry_id == "en-delivery-tracking"  # type: ignore[union-attr]
    again = make_service(seed_demo=True)
    await again.start()
    assert await again.store.count() == len(published)  # a second start seeds nothing


async def test_publishing_an_entry_makes_search_find_it_without_a_rebuild(make_service: Factory) -> None:
    service = make_service(seed_demo=True)
    await service.start()
    await service.wait_ready()
    reconciles = service.live.reconciles
    draft = await service.create(ICELAND, "eve")
    assert service.indexed(draft.id) is None  # drafts are not searchable
    before = await service.search("Is shipping to Iceland possible?", "en")
    assert before.best is None or before.best.entry_id != draft.id
    await service.set_status(draft.id, EntryStatus.PUBLISHED, "eve")
    after = await service.search("Is shipping to Iceland possible?", "en")
    assert after.best is not None and after.best.entry_id == draft.id
    assert service.live.reconciles == reconciles  # one upsert, not a rebuild


async def test_editing_and_archiving_change_what_search_returns(make_service: Factory) -> None:
    service = make_service()
    await service.start()
    entry = await service.create(ICELAND, "eve", publish=True)
    await service.create(
        EntryDraft("How do I reset my password?", "Use the link.", "en", "account"), "eve", publish=True
    )
    assert (await service.lookup("Reykjavik", "en")).best.entry_id == entry.id  # type: ignore[union-attr]
    edited = EntryDraft("Do you ship to Norway?", "Yes, to Norway too.", "en", "delivery", ("Oslo delivery?",))
    await service.update(entry.id, edited, "eve")
    assert service.indexed(entry.id).questions == ("Do you ship to Norway?", "Oslo delivery?")  # type: ignore[union-attr]
    result = await service.lookup("Do you ship to Norway?", "en")
    assert result.best is not None and result.best.answer == "Yes, to Norway too."
    await service.set_status(entry.id, EntryStatus.ARCHIVED, "eve")
    assert service.indexed(entry.id) is None
    assert all(c.entry_id != entry.id for c in (await service.lookup("Do you ship to Norway?", "en")).candidates)
    restored = await service.restore(entry.id, 1, "eve")  # content back, still archived
    assert restored.question == "Do you ship to Iceland?" and service.indexed(entry.id) is None


async def test_a_restart_loads_the_saved_index_and_applies_only_what_changed(
    make_service: Factory, tmp_path: Path
) -> None:
    index_dir = tmp_path / "kb-index"
    first = make_service(index_dir=index_dir, seed_demo=True)
    await first.start()
    await first.wait_ready()
    kept = await first.create(ICELAND, "eve", publish=True)
    await first.close()
    assert (index_dir / "current.json").exists()

    # Meanwhile another process archives one entry and publishes another: the store moved on without this index.
    await first.store.archive("en-returns-cost", "sam")
    await first.store.create(
        EntryDraft("Do you sell gift cards?", "Yes, from €10.", "en", "account"), "sam", status=EntryStatus.PUBLISHED
    )
    second = make_service(index_dir=index_dir, seed_demo=True)
    await second.start()
    await second.wait_ready()
    assert second.indexed(kept.id) is not None  # loaded from disk, not re-encoded from scratch
    assert second.indexed("en-returns-cost") is None
    gift = await second.lookup("Do you sell gift cards?", "en")
    assert gift.best is not None and gift.best.answer == "Yes, from €10."
    status = await second.status()
    assert status["indexed"] == status["published"] and status["applied_revision"] == status["revision"]


async def test_imports_are_all_or_nothing_and_update_by_id(make_service: Factory) -> None:
    service = make_service()
    await service.start()
    good = (
        "entries:\n- id: ship-is\n  language: en\n  question: Ship to Iceland?\n  answer: Yes.\n  status: published\n"
    )
    report = await service.import_text(good, FileFormat.YAML, "eve")
    assert report.created == ["ship-is"]
    assert (await service.lookup("Ship to Iceland?", "en")).best.entry_id == "ship-is"  # type: ignore[union-attr]
    same = await service.import_text(good, FileFormat.YAML, "eve")
    assert same.unchanged == ["ship-is"] and not same.created and not same.updated
    bad = good + "- language: en\n  question: ''\n  answer: x\n"
    with pytest.raises(ImportFailed) as failure:
        await service.import_text(bad.replace("Yes.", "Changed."), FileFormat.YAML, "eve")
    assert failure.value.problems[0].row == 2
    assert (await service.get("ship-is")).answer == "Yes."  # nothing written


async def test_feedback_is_counted_per_entry_and_a_no_becomes_an_unanswered_question(make_service: Factory) -> None:
    from actions.feedback import FeedbackRecord

    service = make_service()
    await service.start()
    entry = await service.create(ICELAND, "eve", publish=True)
    for helpful in (True, True, False):
        await service.record(FeedbackRecord("c1", "cu1", entry.id, "iceland shipping?", "en", helpful, 0.8, 1.0))
    counts = await service.feedback_counts([entry.id])
    assert counts[entry.id].helpful == 2 and counts[entry.id].unhelpful == 1
    items = await service.unanswered.open_items()
    assert [(i.query, i.reason.value, i.entry_id) for i in items] == [
        ("iceland shipping?", "unhelpful_answer", entry.id)
    ]


async def test_a_customer_lookup_that_finds_nothing_is_kept_but_the_editors_try_it_is_not(
    make_service: Factory,
) -> None:
    service = make_service()
    await service.start()
    assert (await service.lookup("anything at all", "en")).decision is Decision.NOT_FOUND
    assert await service.unanswered.open_items() == []
    result = await service.search("Do you sell gift cards?", "en")
    assert result.decision is Decision.NOT_FOUND
    assert [i.query for i in await service.unanswered.open_items()] == ["Do you sell gift cards?"]
