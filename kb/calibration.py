"""From fused scores to a calibrated confidence, the three-way decision, and an explanation a person can read.

Owns `calibrate`, `decide` and `explain`. Must never look anything up: it receives the scored candidates of one
query and only turns numbers into a decision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kb.decision import Candidate, Decision
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
    evidence = tuning.calibration_probability_weight * preference + tuning.calibration_cosine_weight * (
        top.centroid - tuning.calibration_cosine_floor
    )
    top_confidence = _sigmoid(tuning.calibration_scale * (evidence - tuning.calibration_offset))
    relative = share / share[0]
    return [float(top_confidence * r) for r in relative]


def decide(confidences: Sequence[float], settings: RetrievalSettings, tuning: LanguageTuning) -> tuple[Decision, int]:
    """The decision and how many candidates it shows (1 for an answer, 2–3 for a clarification, 0 for none)."""
    if not confidences:
        return Decision.NOT_FOUND, 0
    best = confidences[0]
    close = [c for c in confidences[1 : settings.clarify_max] if c >= settings.clarify_ratio * best]
    runner_up = confidences[1] if len(confidences) > 1 else 0.0
    if best >= tuning.answer_threshold and runner_up < settings.ambiguity_ratio * best:
        return Decision.ANSWER, 1
    if best >= tuning.clarify_threshold:
        return Decision.CLARIFY, max(2, 1 + len(close)) if len(confidences) > 1 else 1
    return Decision.NOT_FOUND, 0


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
    candidates: Sequence[Candidate],
    settings: RetrievalSettings,
    tuning: LanguageTuning,
    shown: int,
) -> str:
    """A few lines for the case card and the editor's "try it" box: the decision, why, and each candidate."""
    if not candidates:
        return "not_found: the knowledge base has no entries in this language."
    best = candidates[0]
    if decision is Decision.ANSWER:
        why = (
            f"answer: confidence {best.confidence:.2f} >= answer threshold {tuning.answer_threshold:.2f} "
            f"and no runner-up within {settings.ambiguity_ratio:.0%} of it."
        )
    elif decision is Decision.CLARIFY:
        if best.confidence >= tuning.answer_threshold:
            why = (
                f"clarify: confidence {best.confidence:.2f} is high but the runner-up is within "
                f"{settings.ambiguity_ratio:.0%}; asking which of the top {shown} was meant."
            )
        else:
            why = (
                f"clarify: confidence {best.confidence:.2f} is between the clarify threshold "
                f"{tuning.clarify_threshold:.2f} and the answer threshold {tuning.answer_threshold:.2f}; "
                f"offering the top {shown}."
            )
    else:
        why = (
            f"not_found: best confidence {best.confidence:.2f} < clarify threshold "
            f"{tuning.clarify_threshold:.2f}; hand off or ask the customer to rephrase."
        )
    lines = [why]
    for rank, c in enumerate(candidates, start=1):
        marker = "*" if rank <= shown else " "
        lines.append(
            f"{marker}{rank}. {c.entry_id} conf={c.confidence:.2f} dense={c.dense_score:.2f} "
            f"lexical={c.lexical_score:.2f} matched={c.matched_question!r}"
        )
    return "\n".join(lines)
