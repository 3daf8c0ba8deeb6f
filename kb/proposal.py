"""The calibration report: what the knowledge base's recorded decisions say about its thresholds, per language.

Owns `CalibrationReport`, `Estimate`, `right_probability` and `build_report`. From the decisions of the service
record with their evidence (kb/evidence.py) it estimates, at the thresholds in force, the share of all decisions
answered correctly, answered wrongly, clarified and not found (every estimate is defined in docs/metrics.md), and
proposes the answer and clarify thresholds that keep the estimated wrong-answer rate within the target while
answering correctly as often as possible. Decisions are replayed from their recorded best and runner-up confidence
with `kb.calibration.decide_many`, the live rule. Where a decision has no verdict, the chance that its best entry
was right is read off its confidence: an increasing (isotonic) fit to the labelled decisions. Refuses to propose
from too few labels. Must never read storage or the clock, nor change a threshold: the service applies one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from kb.abstention import Thresholds
from kb.calibration import decide_many
from kb.decision import Decision
from kb.evidence import Evidence, RecordedDecision
from kb.settings import AbstentionSettings, CalibrationSettings, RetrievalSettings

TOO_FEW_LABELS = "too_few_labels"  # fewer labelled decisions than `CalibrationSettings.min_labelled`
ONE_SIDED_LABELS = "one_sided_labels"  # fewer than `min_each` labelled right, or labelled wrong


@dataclass(frozen=True)
class Estimate:
    """The four outcomes at one pair of thresholds, as shares of all `decisions` (None: no labels to estimate
    from). `answered_labelled` of the `answered` decisions carry a verdict: the answer estimates rest on them and
    on the fit; the clarify and not-found shares are counted, not estimated."""

    answer: float
    clarify: float
    decisions: int
    answered: int
    answered_labelled: int
    answered_correctly: float | None
    answered_wrongly: float | None
    clarified: float
    not_found: float
    meets_target: bool | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CalibrationReport:
    language: str
    decisions: int
    labelled: int
    labelled_right: int
    labelled_wrong: int
    by_evidence: dict[str, int]
    target_wrong_rate: float
    current: Estimate
    current_source: str  # kb.abstention.Thresholds.source of the thresholds in force
    proposal: Estimate | None
    refusal: str | None  # TOO_FEW_LABELS, ONE_SIDED_LABELS, or None when there is a proposal
    min_labelled: int
    min_each: int

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["current"] = self.current.to_dict()
        data["proposal"] = self.proposal.to_dict() if self.proposal is not None else None
        return data


def right_probability(confidences: Sequence[float], right: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    """The isotonic (non-decreasing) fit of P(right | confidence) to labelled decisions, as a step function:
    (`knots`, `values`), where a confidence c reads `values[searchsorted(knots, c, "right") - 1]` (the first
    value below the first knot). Pool-adjacent-violators over the decisions sorted by confidence."""
    order = np.argsort(np.asarray(confidences, dtype=np.float64), kind="mergesort")
    x = np.asarray(confidences, dtype=np.float64)[order]
    y = np.asarray(right, dtype=np.float64)[order]
    # Blocks: [start x, sum of y, count]; merged while a block's mean is above the next one's.
    starts: list[float] = []
    sums: list[float] = []
    counts: list[float] = []
    for xi, yi in zip(x, y, strict=True):
        starts.append(float(xi))
        sums.append(float(yi))
        counts.append(1.0)
        while len(sums) > 1 and sums[-2] / counts[-2] >= sums[-1] / counts[-1]:
            total, count = sums.pop(), counts.pop()
            sums[-1] += total
            counts[-1] += count
            starts.pop()
    return np.asarray(starts), np.asarray(sums) / np.asarray(counts)


def _read(knots: np.ndarray, values: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    index = np.clip(np.searchsorted(knots, confidence, side="right") - 1, 0, len(values) - 1)
    return values[index]


class _Replay:
    """The recorded decisions of one language as arrays, with each one's chance of being right."""

    def __init__(self, decisions: Sequence[RecordedDecision], retrieval: RetrievalSettings) -> None:
        self.retrieval = retrieval
        self.best = np.array([d.confidence for d in decisions], dtype=np.float64)
        self.runner_up = np.array([d.runner_up for d in decisions], dtype=np.float64)
        self.labelled = np.array([d.right is not None for d in decisions], dtype=bool)
        verdict = np.array([bool(d.right) for d in decisions], dtype=np.float64)
        self.p: np.ndarray | None = None
        if self.labelled.any():
            knots, values = right_probability(self.best[self.labelled], verdict[self.labelled] > 0)
            self.p = np.where(self.labelled, verdict, _read(knots, values, self.best))

    def estimate(self, answer: float, clarify: float, target: float) -> Estimate:
        n = len(self.best)
        outcome = decide_many(self.best, self.runner_up, self.retrieval, answer, clarify)
        answered = outcome == Decision.ANSWER.value
        right = wrong = None
        meets = None
        if self.p is not None and n:
            right = float(self.p[answered].sum() / n)
            wrong = float((1.0 - self.p[answered]).sum() / n)
            meets = wrong <= target
        return Estimate(
            answer=round(answer, 4),
            clarify=round(clarify, 4),
            decisions=n,
            answered=int(answered.sum()),
            answered_labelled=int((answered & self.labelled).sum()),
            answered_correctly=None if right is None else round(right, 4),
            answered_wrongly=None if wrong is None else round(wrong, 4),
            clarified=round(float((outcome == Decision.CLARIFY.value).sum() / n), 4) if n else 0.0,
            not_found=round(float((outcome == Decision.NOT_FOUND.value).sum() / n), 4) if n else 0.0,
            meets_target=meets,
        )

    def proposed_answer(self, target: float, recipe: AbstentionSettings) -> float:
        """The lowest answer threshold (so the most right answers) whose estimated wrong-answer rate is within
        `target`; candidates are the labelled confidences within the recipe's bounds. The highest bound when none
        meets it."""
        assert self.p is not None
        n = len(self.best)
        eligible = self.runner_up < self.retrieval.ambiguity_ratio * self.best
        order = np.argsort(-self.best[eligible], kind="mergesort")
        best = self.best[eligible][order]
        # The wrong share when the k most confident answerable ones are answered: wrong[k].
        wrong = np.concatenate([[0.0], np.cumsum(1.0 - self.p[eligible][order])]) / n
        grid = np.unique(self.best[self.labelled])
        grid = grid[(grid >= recipe.min_answer_threshold) & (grid <= recipe.max_answer_threshold)]
        grid = np.append(grid, recipe.max_answer_threshold)
        reached = np.searchsorted(-best, -grid, side="right")  # how many answerable ones reach each threshold
        rate = wrong[reached]
        feasible = grid[rate <= target]
        return float(feasible.min()) if len(feasible) else float(recipe.max_answer_threshold)

    @staticmethod
    def proposed_clarify(answer: float, decisions: Sequence[RecordedDecision], recipe: AbstentionSettings) -> float:
        """The KB's own rule (kb/abstention.py) on the labelled decisions: the confidence `clarify_seen_share` of the
        right ones reach, unless `clarify_unseen_share` of the wrong ones reach a lower one."""
        right = [d.confidence for d in decisions if d.right is True]
        wrong = [d.confidence for d in decisions if d.right is False]
        clarify = min(
            float(np.quantile(wrong, 1.0 - recipe.clarify_unseen_share)),
            float(np.quantile(right, 1.0 - recipe.clarify_seen_share)),
        )
        return float(np.clip(clarify, recipe.min_clarify_threshold, answer))


def build_report(
    language: str,
    decisions: Sequence[RecordedDecision],
    current: Thresholds,
    retrieval: RetrievalSettings,
    settings: CalibrationSettings,
) -> CalibrationReport:
    """The report for `language` from its recorded decisions (any order) at the thresholds in force (`current`)."""
    recipe = retrieval.abstention
    target = recipe.target_wrong_rate
    replay = _Replay(decisions, retrieval)
    verdicts = [d.right for d in decisions if d.right is not None]
    right, wrong = sum(verdicts), len(verdicts) - sum(verdicts)
    refusal = None
    if len(verdicts) < settings.min_labelled:
        refusal = TOO_FEW_LABELS
    elif min(right, wrong) < settings.min_each:
        refusal = ONE_SIDED_LABELS
    proposal = None
    if refusal is None:
        answer = replay.proposed_answer(target, recipe)
        proposal = replay.estimate(answer, replay.proposed_clarify(answer, decisions, recipe), target)
    evidence = Counter(d.evidence.value for d in decisions if d.evidence is not Evidence.NONE)
    return CalibrationReport(
        language=language,
        decisions=len(decisions),
        labelled=len(verdicts),
        labelled_right=right,
        labelled_wrong=wrong,
        by_evidence={e.value: evidence.get(e.value, 0) for e in Evidence if e is not Evidence.NONE},
        target_wrong_rate=target,
        current=replay.estimate(current.answer, current.clarify, target),
        current_source=current.source,
        proposal=proposal,
        refusal=refusal,
        min_labelled=settings.min_labelled,
        min_each=settings.min_each,
    )


__all__ = ["ONE_SIDED_LABELS", "TOO_FEW_LABELS", "CalibrationReport", "Estimate", "build_report", "right_probability"]
