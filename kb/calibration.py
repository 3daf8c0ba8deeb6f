"""From fused scores to a calibrated confidence, the three-way decision, and an explanation a person can read.

Owns `calibrate`, `decide` (and `decide_many`, the same rule over arrays) and `explain`. Must never look anything
up: it receives the scored candidates of one query and only turns numbers into a decision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kb.abstention import Thresholds
from kb.decision import Candidate, Decision, Reason
from kb.settings import LanguageTuning, RetrievalSettings


@dataclass(frozen=True)
class ScoredEntry:
    """One candidate entry with every signal the retriever computed for it."""

    entry_id: str
    question: str
    matched_question: str
    answer: str
    category: str
    fused: float
    dense: float  # best cosine over the entry's questions, averaged over encoders
    centroid: float  # cosine to the entry's centroid (questions + answer), averaged over encoders
    lexical: float  # BM25 divided by what a document matching every query term would score: about 0..1
    head_probability: float | None


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def calibrate(entries: Sequence[ScoredEntry], settings: RetrievalSettings, tuning: LanguageTuning) -> list[float]:
    """Confidence in [0, 1] for each entry (same order), best entry first in `entries`.

    Two things must both hold for a confident answer: the query must look like *some* FAQ entry (absolute cosine
    to the entry's centroid, which is what separates out-of-scope questions best) and it must prefer *this* entry
    over the others (the share of probability mass after a softmax over fused z-scores, or the head's own
    probability). A logistic squash of their weighted sum gives the top confidence; the others get it scaled by
    their share relative to the best, so a close runner-up keeps a high confidence and the caller can clarify.
    """
    if not entries:
        return []
    fused = np.array([e.fused for e in entries], dtype=np.float64) / max(settings.softmax_temperature, 1e-6)
    share = np.exp(fused - fused.max())
    share /= share.sum()
    top = entries[0]
    preference = float(share[0])
    if top.head_probability is not None:
        preference = 0.5 * (preference + top.head_probability)
    share_q = tuning.calibration_question_share
    cosine = (top.centroid + share_q * top.dense) / (1.0 + share_q)
    evidence = tuning.calibration_probability_weight * preference + tuning.calibration_cosine_weight * (
        cosine - tuning.calibration_cosine_floor
    )
    top_confidence = _sigmoid(tuning.calibration_scale * (evidence - tuning.calibration_offset))
    relative = share / share[0]
    return [float(top_confidence * r) for r in relative]


def decide(
    confidences: Sequence[float], settings: RetrievalSettings, thresholds: Thresholds
) -> tuple[Decision, int, Reason]:
    """The decision, how many candidates it shows (1 for an answer, 2–3 for a clarification, 0 for none), and why.

    Clarify is the safety net: a confident best entry with a close runner-up, or a best entry between the clarify
    and the answer threshold, is offered with the next ones instead of being answered.
    """
    if not confidences:
        return Decision.NOT_FOUND, 0, Reason.EMPTY
    best = confidences[0]
    close = [c for c in confidences[1 : settings.clarify_max] if c >= settings.clarify_ratio * best]
    runner_up = confidences[1] if len(confidences) > 1 else 0.0
    offered = max(2, 1 + len(close)) if len(confidences) > 1 else 1
    if best >= thresholds.answer:
        if runner_up < settings.ambiguity_ratio * best:
            return Decision.ANSWER, 1, Reason.CONFIDENT
        return Decision.CLARIFY, offered, Reason.CLOSE_RUNNER_UP
    if best >= thresholds.clarify:
        return Decision.CLARIFY, offered, Reason.UNSURE
    return Decision.NOT_FOUND, 0, Reason.LOW_CONFIDENCE


def decide_many(
    best: np.ndarray, runner_up: np.ndarray, settings: RetrievalSettings, answer: float, clarify: float
) -> np.ndarray:
    """`decide` for many lookups at once, from each one's best and runner-up confidence: an array of `Decision`
    values (str). Replays recorded decisions at other thresholds (kb/proposal.py); the rule is `decide`'s."""
    answered = (best >= answer) & (runner_up < settings.ambiguity_ratio * best)
    return np.where(
        answered,
        Decision.ANSWER.value,
        np.where(best >= min(clarify, answer), Decision.CLARIFY.value, Decision.NOT_FOUND.value),
    )


def to_candidates(entries: Sequence[ScoredEntry], confidences: Sequence[float]) -> list[Candidate]:
    return [
        Candidate(
            entry_id=e.entry_id,
            question=e.question,
            answer=e.answer,
            category=e.category,
            confidence=round(c, 4),
            dense_score=round(e.dense, 4),
            lexical_score=round(e.lexical, 4),
            matched_question=e.matched_question,
        )
        for e, c in zip(entries, confidences, strict=True)
    ]


def explain(
    decision: Decision,
    reason: Reason,
    candidates: Sequence[Candidate],
    settings: RetrievalSettings,
    thresholds: Thresholds,
    shown: int,
) -> str:
    """A few lines for the case card and the editor's "try it" box: the decision, why, and each candidate."""
    if not candidates:
        return "not_found (empty): the knowledge base has no entries in this language."
    best = candidates[0]
    origin = (
        f"fitted on {thresholds.questions} of the KB's own questions"
        if thresholds.source == "kb"
        else "fixed for this language"
    )
    bar = f"answer threshold {thresholds.answer:.2f}, clarify threshold {thresholds.clarify:.2f} ({origin})"
    if reason is Reason.CONFIDENT:
        why = (
            f"answer (confident): confidence {best.confidence:.2f} >= {bar}, "
            f"and no runner-up within {settings.ambiguity_ratio:.0%} of it."
        )
    elif reason is Reason.CLOSE_RUNNER_UP:
        why = (
            f"clarify (close runner-up): confidence {best.confidence:.2f} reaches the {bar}, but the runner-up is "
            f"within {settings.ambiguity_ratio:.0%}; asking which of the top {shown} was meant."
        )
    elif reason is Reason.UNSURE:
        why = (
            f"clarify (unsure): confidence {best.confidence:.2f} is between the thresholds ({bar}); "
            f"offering the top {shown}."
        )
    else:
        why = (
            f"not_found (low confidence): best confidence {best.confidence:.2f} is below the {bar}; "
            "hand off or ask the customer to rephrase."
        )
    lines = [why]
    for rank, c in enumerate(candidates, start=1):
        marker = "*" if rank <= shown else " "
        lines.append(
            f"{marker}{rank}. {c.entry_id} conf={c.confidence:.2f} dense={c.dense_score:.2f} "
            f"lexical={c.lexical_score:.2f} matched={c.matched_question!r}"
        )
    return "\n".join(lines)
