"""Thresholds fitted on the KB's own questions, the reasons behind each decision, and the risk-coverage curve."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from kb.abstention import SelfTest, Thresholds, assign_folds, fit_thresholds
from kb.calibration import decide
from kb.decision import Decision, KBResult, Reason
from kb.encoders import HashingEncoder
from kb.evaluation import EvalQuery, risk_coverage, run_evaluation
from kb.retrieval import HybridRetriever, IndexedEntry
from kb.settings import AbstentionSettings, RetrievalSettings
from server.cli import main as frontdoor_main


def test_the_answer_threshold_keeps_the_expected_wrong_rate_within_the_target() -> None:
    # 20 answerable questions (two ranked wrongly, at 0.9) and 20 unanswerable ones spread over 0.0..0.95.
    seen = [0.99] * 18 + [0.9, 0.9]
    right = [True] * 18 + [False, False]
    unseen = [i * 0.05 for i in range(20)]
    recipe = AbstentionSettings(target_wrong_rate=0.1, out_of_scope_prior=0.5, min_questions=10)
    fitted = fit_thresholds(SelfTest(seen, right, unseen), recipe, (0.5, 0.2))
    # At 0.9: the two wrongly ranked answerable ones (0.5 * 2/20) and the unanswerable 0.90 and 0.95
    # (0.5 * 2/20) pass, 0.10 in all, within the target; at 0.85 a third unanswerable one makes it 0.125.
    assert fitted.source == "kb" and fitted.answer == pytest.approx(0.9)
    assert fitted.expected_wrong_rate == pytest.approx(0.1)
    # The clarify threshold: half of the unanswerable ones stay below it, and it never exceeds the answer threshold.
    assert fitted.clarify == pytest.approx(0.475)


def test_a_stricter_target_raises_the_answer_threshold() -> None:
    test = SelfTest([0.95] * 30, [True] * 30, [i / 30 for i in range(30)])
    loose = fit_thresholds(test, AbstentionSettings(target_wrong_rate=0.2), (0.5, 0.2))
    strict = fit_thresholds(test, AbstentionSettings(target_wrong_rate=0.02), (0.5, 0.2))
    assert strict.answer > loose.answer


def test_a_fit_held_at_the_ceiling_reports_the_wrong_rate_it_will_run_at() -> None:
    # Half of the unanswerable questions reach 0.96 or more: the target wants 0.99, the ceiling allows 0.95.
    test = SelfTest([0.995] * 20, [True] * 20, [0.5] * 10 + [0.96] * 5 + [0.98] * 5)
    fitted = fit_thresholds(test, AbstentionSettings(out_of_scope_prior=0.5, max_answer_threshold=0.95), (0.5, 0.2))
    assert fitted.answer == 0.95
    assert fitted.expected_wrong_rate == pytest.approx(0.25)  # 0.5 x the half of them that reach 0.95
    assert fitted.expected_answer_rate == pytest.approx(0.75)


def test_a_kb_too_small_to_test_itself_keeps_the_fixed_thresholds() -> None:
    fitted = fit_thresholds(SelfTest([0.9] * 3, [True] * 3, [0.1] * 3), AbstentionSettings(), (0.55, 0.25))
    assert (fitted.answer, fitted.clarify, fitted.source) == (0.55, 0.25, "fixed")
    assert Thresholds.from_dict(fitted.to_dict()) == fitted


@pytest.mark.parametrize(
    ("confidences", "expected"),
    [
        ([0.9, 0.1], (Decision.ANSWER, 1, Reason.CONFIDENT)),
        ([0.9, 0.85, 0.5], (Decision.CLARIFY, 3, Reason.CLOSE_RUNNER_UP)),
        ([0.5, 0.3], (Decision.CLARIFY, 2, Reason.UNSURE)),
        ([0.1, 0.05], (Decision.NOT_FOUND, 0, Reason.LOW_CONFIDENCE)),
        ([], (Decision.NOT_FOUND, 0, Reason.EMPTY)),
    ],
)
def test_each_decision_says_why(confidences: list[float], expected: tuple[object, ...]) -> None:
    limits = Thresholds(answer=0.7, clarify=0.2, source="kb")
    assert decide(confidences, RetrievalSettings(), limits) == expected


def test_the_retriever_refits_its_thresholds_when_the_kb_changes(
    entries: list[IndexedEntry], settings: RetrievalSettings, encoders: dict[str, HashingEncoder], tmp_path: Path
) -> None:
    recipe = AbstentionSettings(min_questions=3)
    retriever = HybridRetriever(settings.with_changes(abstention=recipe), encoders)
    retriever.upsert_many(entries)
    retriever.adapt()
    shard = retriever._shards["en"]
    first = shard.thresholds
    assert first is not None and first.source == "kb" and first.questions >= 3
    result = retriever.search("how do I return an item")
    assert result.reason in {r.value for r in Reason} and f"{first.answer:.2f}" in result.explanation

    extra = [
        IndexedEntry(f"extra-{i}", (f"gift card number {i}", f"voucher code {i}"), "Cards.", "", "en") for i in range(6)
    ]
    retriever.upsert_many(extra)
    retriever.adapt()
    assert shard.thresholds is not None and shard.thresholds.questions > first.questions

    retriever.save(tmp_path / "index")
    loaded = HybridRetriever.load(tmp_path / "index", retriever.settings, encoders)
    assert loaded._shards["en"].thresholds == shard.thresholds


def test_risk_coverage_lists_the_wrong_rate_at_every_answer_rate() -> None:
    queries = [EvalQuery("a", "x", "en"), EvalQuery("b", "", "en"), EvalQuery("c", "y", "en"), EvalQuery("d", "", "en")]
    results = [
        KBResult("a", "en", Decision.ANSWER, 0.9, [_candidate("x")]),
        KBResult("b", "en", Decision.ANSWER, 0.8, [_candidate("x")]),
        KBResult("c", "en", Decision.CLARIFY, 0.8, [_candidate("z")]),
        KBResult("d", "en", Decision.NOT_FOUND, 0.1, [_candidate("x")]),
    ]
    rows = risk_coverage(queries, results)
    assert [(r["threshold"], r["answer_rate"], r["wrong_rate"], r["right_rate"]) for r in rows] == [
        (0.9, 0.25, 0.0, 0.25),
        (0.8, 0.75, 0.5, 0.25),  # a tie: both messages at 0.8 are answered together
        (0.1, 1.0, 0.75, 0.25),
    ]


def _candidate(entry_id: str) -> object:
    from kb.decision import Candidate

    return Candidate(entry_id, "q", "a", "", 0.5, 0.5, 0.5)


def test_the_evaluation_reports_outcomes_over_out_of_scope_messages_and_per_language(
    fixture_paths: tuple[Path, Path], settings: RetrievalSettings, encoders: dict[str, HashingEncoder]
) -> None:
    kb_path, queries_path = fixture_paths
    report = run_evaluation(kb_path, queries_path, settings, encoders)
    assert set(report.out_of_scope) == {"n", "answered_wrongly", "clarify", "not_found"}
    assert report.out_of_scope["n"] == report.n_out_of_scope
    by_language = report.out_of_scope_per_language  # the same, for each language's out-of-scope messages
    assert sum(rates["n"] for rates in by_language.values()) == report.n_out_of_scope
    assert all(set(rates) == set(report.out_of_scope) for rates in by_language.values())
    for rates in report.per_language.values():
        total = rates["answered_correctly"] + rates["answered_wrongly"] + rates["clarify"] + rates["not_found"]
        assert total == pytest.approx(1.0)
    assert sum(report.reasons.values()) == report.n_queries
    assert report.risk_coverage[-1]["answer_rate"] == pytest.approx(1.0)


def test_frontdoor_kb_eval_writes_the_risk_coverage_and_decisions_csv(
    fixture_paths: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb_path, queries_path = fixture_paths
    curve, decisions = tmp_path / "rc.csv", tmp_path / "decisions.csv"
    argv = ["kb", "eval", "--kb", str(kb_path), "--queries", str(queries_path), "--json"]
    argv += ["--encoders-en", "hashing", "--encoders-zh", "hashing"]
    assert frontdoor_main([*argv, "--risk-coverage-csv", str(curve), "--decisions-csv", str(decisions)]) == 0
    data = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"out_of_scope", "clarify_right_offered", "reasons", "per_language", "thresholds"} <= set(data)
    assert "out_of_scope_per_language" in data
    assert {t["source"] for t in data["thresholds"].values()} <= {"kb", "fixed"}
    with curve.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["threshold", "answer_rate", "wrong_rate", "right_rate", "precision"]
    assert float(rows[-1]["answer_rate"]) == pytest.approx(1.0)
    with decisions.open(encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    assert len(lines) == data["n_queries"]
    assert {line["outcome"] for line in lines} <= {"right", "wrong", "offered", "not_offered", "passed_on"}


def test_a_kb_of_single_phrasings_keeps_its_fixed_thresholds(
    settings: RetrievalSettings, encoders: dict[str, HashingEncoder]
) -> None:
    # Nothing to leave out of a one-question entry: the fit could not see the KB's own ranking errors.
    retriever = HybridRetriever(settings.with_changes(abstention=AbstentionSettings(min_questions=3)), encoders)
    retriever.upsert_many(IndexedEntry(f"e{i}", (f"question about topic {i}",), "", "", "en") for i in range(30))
    retriever.adapt()
    tuning = settings.tuning_for("en")
    assert retriever.thresholds()["en"] == Thresholds(tuning.answer_threshold, tuning.clarify_threshold, "fixed")


def test_folds_leave_each_entry_out_once_and_its_questions_out_of_other_folds() -> None:
    tested = {f"e{e}": [6 * e + q for q in range(6)] for e in range(10)}
    folds = assign_folds(tested, 5, seed=3)
    assert sorted(folds.entries) == sorted(tested) and sorted(folds.questions) == list(range(60))
    # Each fold leaves out two of the ten entries, and questions only of entries it keeps.
    assert sorted(list(folds.entries.values()).count(f) for f in range(5)) == [2] * 5
    for entry_id, ids in tested.items():
        held = [folds.questions[q] for q in ids]
        assert folds.entries[entry_id] not in held
        # Six questions over the four other folds: no fold takes more than two of them, so the head keeps four.
        assert max(held.count(f) for f in range(5)) <= 2
    assert assign_folds(tested, 5, seed=3) == folds


@pytest.fixture
def unrelated_paraphrases() -> list[IndexedEntry]:
    """Twelve entries whose four questions share no words: only something that learnt a left-out question itself
    (the head, or its entry's centroid or word counts) can rank its entry first, which a customer's message never
    was."""
    rng = np.random.default_rng(0)

    def word() -> str:
        return "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), 7))

    return [
        IndexedEntry(f"e{e}", tuple(f"{word()} {word()} {word()}" for _ in range(4)), word(), "", "en")
        for e in range(12)
    ]


def _seen_right(retriever: HybridRetriever, kb: list[IndexedEntry]) -> float:
    retriever.upsert_many(kb)
    retriever.adapt()
    tests = retriever.self_test(retriever._shards["en"], 100)
    return float(np.mean([kept[0].entry_id == entry_id for kept, _, entry_id in tests]))


def test_the_self_test_asks_each_question_of_a_head_that_never_saw_it(
    settings: RetrievalSettings, encoders: dict[str, HashingEncoder], unrelated_paraphrases: list[IndexedEntry]
) -> None:
    def seen_right(folds: int) -> float:
        recipe = AbstentionSettings(self_test_folds=folds)
        return _seen_right(HybridRetriever(settings.with_changes(abstention=recipe), encoders), unrelated_paraphrases)

    assert seen_right(1) > 0.9  # the serving head memorised them
    assert seen_right(5) < 0.4  # twelve entries: chance is 1 in 12


def test_a_left_out_question_leaves_its_entrys_centroid_and_word_counts(
    settings: RetrievalSettings, encoders: dict[str, HashingEncoder], unrelated_paraphrases: list[IndexedEntry]
) -> None:
    retriever = HybridRetriever(settings.with_changes(train_head=False), encoders)
    assert _seen_right(retriever, unrelated_paraphrases) < 0.4
