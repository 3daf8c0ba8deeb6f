"""Thresholds the knowledge base sets from its own entries: when to answer, when to offer choices, when to pass on.

Owns `SelfTest` (the confidences of the KB's own questions asked back at it) and `fit_thresholds`. A fixed answer
threshold means one thing on a 38-entry shop FAQ and another on a 5,000-entry one, because confidences depend on how
crowded and how well phrased the entries are. So after every change the retriever asks the KB its own questions
twice: once with that question left out (an unseen paraphrase of an entry that exists: it should be answered) and
once with its whole entry left out (a question this KB cannot answer: it must not be). The thresholds follow from
those two distributions and an operator's target. Must never see customer queries or labelled out-of-scope examples:
everything here comes from the entries.

Left out means left out of what was learnt from the entries too: `assign_folds` splits the tested entries, and
the questions of the others, into k folds, and each fold is asked of a head trained without it (k-fold), so a
left-out paraphrase or entry is as new to the head as a customer's message is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from kb.settings import AbstentionSettings


@dataclass(frozen=True)
class SelfTest:
    """Confidences from asking the KB its own questions (see the module docstring)."""

    seen: Sequence[float]  # question left out, its entry kept: answerable
    seen_right: Sequence[bool]  # did the kept entry come first
    unseen: Sequence[float]  # whole entry left out: unanswerable


@dataclass(frozen=True)
class Thresholds:
    """The answer and clarify thresholds in force for one language's entries, and where they came from."""

    answer: float
    clarify: float
    source: str  # "kb" (fitted on the self-test) or "fixed" (the language's configured values)
    questions: int = 0  # self-test questions they were fitted on
    expected_wrong_rate: float = 0.0  # estimated share of all messages answered wrongly at `answer`
    expected_answer_rate: float = 0.0  # estimated share of all messages answered at `answer`

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Thresholds:
        return cls(**data)


@dataclass(frozen=True)
class Folds:
    """Which fold leaves out what. Fold f's head is trained without the entries that `entries` maps to f (its
    unanswerable questions) and without the questions of other entries that `questions` maps to f (its unseen
    paraphrases). Folds are numbered 0..count-1; with one fold nothing is left out of the head."""

    count: int
    questions: dict[int, int] = field(default_factory=dict)
    entries: dict[str, int] = field(default_factory=dict)


def assign_folds(tested: Mapping[str, Sequence[int]], count: int, seed: int = 0) -> Folds:
    """Split the tested entries (entry → its tested question ids) and their questions into `count` folds.

    Entries are dealt out in a shuffled order, so each fold leaves out about a `count`-th of them. An entry's
    questions go in turn to the other folds (never the one that leaves the whole entry out, whose head knows nothing
    of the entry to rank it by), starting at a random one, so a fold leaves out at most ceil(n / (count - 1)) of an
    entry's n questions and its head keeps the rest. Deterministic for a given `seed`.
    """
    rng = np.random.default_rng(seed)
    names = list(tested)
    entries = {names[int(i)]: rank % count for rank, i in enumerate(rng.permutation(len(names)))}
    questions: dict[int, int] = {}
    if count < 2:
        return Folds(count, dict.fromkeys((int(q) for ids in tested.values() for q in ids), 0), entries)
    for entry_id, ids in tested.items():
        others = [f for f in range(count) if f != entries[entry_id]]
        start = int(rng.integers(len(others)))
        for offset, position in enumerate(rng.permutation(len(ids))):
            questions[int(ids[int(position)])] = others[(start + offset) % len(others)]
    return Folds(count, questions, entries)


def _share_at_least(values: np.ndarray, threshold: float) -> float:
    return float((values >= threshold).mean())


def fit_thresholds(test: SelfTest, settings: AbstentionSettings, fixed: tuple[float, float]) -> Thresholds:
    """Answer threshold: the lowest confidence at which the expected wrong-answer rate over all messages stays within
    `settings.target_wrong_rate`, where a share `out_of_scope_prior` of messages has no entry (their confidences
    look like `unseen`) and the rest look like `seen` (wrong when the kept entry was not first). Clarify threshold:
    the confidence that `clarify_unseen_share` of the unanswerable questions reach (fewer pointless choices), but
    never above what `clarify_seen_share` of the answerable ones reach (the right entry keeps being offered).

    Falls back to `fixed` (answer, clarify) when the KB is too small to say anything.
    """
    seen = np.asarray(test.seen, dtype=np.float64)
    right = np.asarray(test.seen_right, dtype=bool)
    unseen = np.asarray(test.unseen, dtype=np.float64)
    if min(len(seen), len(unseen)) < settings.min_questions:
        return Thresholds(answer=fixed[0], clarify=fixed[1], source="fixed", questions=len(seen))
    prior = settings.out_of_scope_prior

    def expected(threshold: float) -> tuple[float, float]:
        """(wrong, answered) shares of all messages at `threshold`: unanswerable messages that reach it are answered
        wrongly, and so are answerable ones whose best entry is not theirs."""
        wrong = prior * _share_at_least(unseen, threshold) + (1 - prior) * float(((seen >= threshold) & ~right).mean())
        return wrong, prior * _share_at_least(unseen, threshold) + (1 - prior) * _share_at_least(seen, threshold)

    grid = np.unique(np.concatenate([seen, unseen, [1.0]]))
    answer = 1.0
    for threshold in grid[::-1]:  # from the top down: the rate only grows as the threshold falls
        if expected(float(threshold))[0] > settings.target_wrong_rate:
            break
        answer = float(threshold)
    answer = float(np.clip(answer, settings.min_answer_threshold, settings.max_answer_threshold))
    # At the clipped threshold: a KB whose fit wants more than the ceiling reports the rate it will really run at.
    wrong_at, answered_at = expected(answer)
    clarify = min(
        float(np.quantile(unseen, 1.0 - settings.clarify_unseen_share)),
        float(np.quantile(seen, 1.0 - settings.clarify_seen_share)),
    )
    clarify = float(np.clip(clarify, settings.min_clarify_threshold, answer))
    return Thresholds(
        answer=round(answer, 4),
        clarify=round(clarify, 4),
        source="kb",
        questions=len(seen),
        expected_wrong_rate=round(wrong_at, 4),
        expected_answer_rate=round(answered_at, 4),
    )


__all__ = ["Folds", "SelfTest", "Thresholds", "assign_folds", "fit_thresholds"]
