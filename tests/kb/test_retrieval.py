from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kb.decision import Decision
from kb.encoders import HashingEncoder
from kb.exceptions import IndexMismatch
from kb.retrieval import HybridRetriever, IndexedEntry
from kb.settings import RetrievalSettings


def test_an_english_paraphrase_finds_its_entry(retriever: HybridRetriever) -> None:
    result = retriever.search("I forgot my password")
    assert result.language == "en"
    assert result.best is not None and result.best.entry_id == "reset_password"


def test_a_chinese_query_is_routed_to_chinese_entries(retriever: HybridRetriever) -> None:
    result = retriever.search("怎么重置密码")
    assert result.language == "zh"
    assert result.best is not None and result.best.entry_id == "zh_reset_password"


def test_a_clear_match_is_answered(retriever: HybridRetriever) -> None:
    result = retriever.search("How do I reset my password?")
    assert result.decision is Decision.ANSWER
    assert "answer" in result.explanation


def test_an_unrelated_question_is_not_found(retriever: HybridRetriever) -> None:
    result = retriever.search("zxqv jjjj kkkk")
    assert result.decision is Decision.NOT_FOUND
    assert result.confidence < retriever.settings.tuning_for("en").clarify_threshold


def test_two_close_entries_make_a_clarification(
    entries: list[IndexedEntry], settings: RetrievalSettings, encoders: dict[str, HashingEncoder]
) -> None:
    # Two entries an editor wrote for the same question: nothing can tell them apart, so the bot must ask.
    twins = [
        IndexedEntry("card_a", ("card payment problem",), "See card help.", "", "en"),
        IndexedEntry("card_b", ("card payment problem",), "See card help.", "", "en"),
    ]
    retriever = HybridRetriever(settings.with_changes(train_head=False), encoders)
    retriever.upsert_many([*entries, *twins])
    result = retriever.search("card payment problem")
    assert result.decision is Decision.CLARIFY
    assert {c.entry_id for c in result.candidates[:2]} == {"card_a", "card_b"}


def test_candidates_carry_dense_and_lexical_scores_and_the_matched_question(retriever: HybridRetriever) -> None:
    best = retriever.search("when will my order arrive").candidates[0]
    assert best.entry_id == "delivery_time"
    assert best.matched_question == "When will my order arrive?"
    assert best.dense_score > 0.9
    assert best.lexical_score > 0.0
    assert 0.0 <= best.confidence <= 1.0


def test_an_upserted_entry_is_found_and_a_removed_one_is_not(retriever: HybridRetriever) -> None:
    retriever.upsert(IndexedEntry("gift_cards", ("Do you sell gift cards?",), "Yes, online.", "shop", "en"))
    assert retriever.search("do you sell gift cards").candidates[0].entry_id == "gift_cards"
    assert retriever.remove("gift_cards")
    assert all(c.entry_id != "gift_cards" for c in retriever.search("do you sell gift cards").candidates)
    assert not retriever.remove("gift_cards")


def test_re_upserting_an_entry_replaces_its_questions(retriever: HybridRetriever) -> None:
    retriever.upsert(IndexedEntry("cancel_order", ("Can I stop a subscription?",), "Yes.", "", "en"))
    best = retriever.search("Can I stop a subscription?").candidates[0]
    assert best.entry_id == "cancel_order"
    assert best.matched_question == "Can I stop a subscription?"
    assert len(retriever) == 11 - 4  # 7 entries: 4 English + 3 Chinese


def test_save_and_load_give_the_same_results(
    retriever: HybridRetriever, tmp_path: Path, encoders: dict[str, HashingEncoder]
) -> None:
    retriever.save(tmp_path / "index")
    loaded = HybridRetriever.load(tmp_path / "index", retriever.settings, encoders)
    for query in ["where is my refund", "快递几天能到", "cancel my order"]:
        assert loaded.search(query).to_dict() == retriever.search(query).to_dict()
    loaded.upsert(IndexedEntry("new", ("brand new question",), "x", "", "en"))
    assert loaded.search("brand new question").candidates[0].entry_id == "new"


def test_loading_with_other_encoders_is_refused(retriever: HybridRetriever, tmp_path: Path) -> None:
    retriever.save(tmp_path / "index")
    with pytest.raises(IndexMismatch):
        HybridRetriever.load(tmp_path / "index", RetrievalSettings(encoders={"en": ("e5",), "zh": ("hashing",)}))


def test_search_keeps_working_while_entries_are_upserted(retriever: HybridRetriever) -> None:
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(30):
                retriever.upsert(IndexedEntry(f"extra{i}", (f"extra question number {i}",), "a", "", "en"))
                retriever.remove(f"extra{i - 1}")
        except BaseException as exc:  # the test reports whatever broke
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    for _ in range(60):
        assert retriever.search("where is my refund").candidates[0].entry_id == "refund_status"
    thread.join()
    assert not errors


def test_background_adaptation_trains_a_head_that_includes_new_entries(
    entries: list[IndexedEntry], settings: RetrievalSettings, encoders: dict[str, HashingEncoder]
) -> None:
    retriever = HybridRetriever(settings.with_changes(adapt_in_background=True, adapt_debounce_s=0.01), encoders)
    retriever.upsert_many(entries)
    retriever.wait_for_adaptation()
    retriever.upsert(IndexedEntry("gift_cards", ("Do you sell gift cards?",), "Yes.", "", "en"))
    retriever.wait_for_adaptation()
    assert retriever.search("gift cards for sale?").candidates[0].entry_id == "gift_cards"
    retriever.close()


def test_an_empty_retriever_answers_not_found(settings: RetrievalSettings, encoders: dict[str, HashingEncoder]) -> None:
    result = HybridRetriever(settings, encoders).search("anything")
    assert result.decision is Decision.NOT_FOUND
    assert result.candidates == []


def test_chinese_ranking_uses_character_bm25_and_english_does_not(retriever: HybridRetriever) -> None:
    zh = retriever.search("重置密码")
    assert zh.best is not None and zh.best.entry_id == "zh_reset_password"
    shards = retriever._shards
    assert len(shards["zh"].characters) == len(shards["zh"]) and len(shards["en"].characters) == 0


def test_each_language_decides_with_its_own_thresholds(retriever: HybridRetriever) -> None:
    settings = retriever.settings
    assert settings.tuning_for("zh").answer_threshold != settings.tuning_for("en").answer_threshold
    assert settings.tuning_for("fr") == settings.tuning_for("en")
    # The fixture is too small to test itself (fewer than 20 questions per language): each keeps its fixed pair.
    for language in ("en", "zh"):
        thresholds = retriever._shards[language].thresholds
        tuning = settings.tuning_for(language)
        assert thresholds is not None and thresholds.source == "fixed"
        assert (thresholds.answer, thresholds.clarify) == (tuning.answer_threshold, tuning.clarify_threshold)


def test_no_head_is_trained_when_every_entry_has_a_single_text(
    settings: RetrievalSettings, encoders: dict[str, HashingEncoder]
) -> None:
    retriever = HybridRetriever(settings.with_changes(use_answer_text=False), encoders)
    retriever.upsert_many(IndexedEntry(f"e{i}", (f"question number {i}",), "", "", "en") for i in range(5))
    assert retriever.adapt() == {}
    retriever.upsert(IndexedEntry("e0", ("question number 0", "the zeroth question"), "", "", "en"))
    retriever.upsert(IndexedEntry("e1", ("question number 1", "the first question"), "", "", "en"))
    retriever.upsert(IndexedEntry("e2", ("question number 2", "the second question"), "", "", "en"))
    assert retriever.adapt() == {"en": 5}


def test_hubness_is_learnt_by_adapt_and_survives_save_and_load(
    retriever: HybridRetriever, tmp_path: Path, encoders: dict[str, HashingEncoder]
) -> None:
    zh = retriever._shards["zh"]
    assert set(zh.hubness["hashing"]) == {q for ids in zh.question_ids.values() for q in ids}
    retriever.save(tmp_path / "index")
    loaded = HybridRetriever.load(tmp_path / "index", retriever.settings, encoders)
    assert loaded._shards["zh"].hubness == zh.hubness
    assert loaded.search("重置密码").to_dict() == retriever.search("重置密码").to_dict()
