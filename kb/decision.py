"""What a knowledge-base lookup decided, and why.

Owns the result types shared by retrieval, the bot's actions, the editor's "try it" box and the case card.
Must never compute anything: these are plain values that serialise to JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Decision(StrEnum):
    """The three outcomes of a lookup: answer it, ask which entry was meant, or hand off."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    NOT_FOUND = "not_found"


class Reason(StrEnum):
    """Why a lookup decided what it did: stable codes for the case card, the editor's try-it box and evaluation."""

    CONFIDENT = "confident"  # confidence at or above the answer threshold, no close runner-up
    CLOSE_RUNNER_UP = "close_runner_up"  # confident, but a second entry is nearly as likely: offer both
    UNSURE = "unsure"  # between the clarify and the answer threshold: offer the top candidates
    LOW_CONFIDENCE = "low_confidence"  # below the clarify threshold: nothing in the KB is close enough
    EMPTY = "empty"  # no entries in this language


@dataclass(frozen=True)
class Candidate:
    """One FAQ entry scored for a query: the best of its questions counts."""

    entry_id: str
    question: str
    answer: str
    category: str
    confidence: float
    dense_score: float
    lexical_score: float
    matched_question: str = ""


@dataclass(frozen=True)
class KBResult:
    query: str
    language: str
    decision: Decision
    confidence: float
    candidates: list[Candidate] = field(default_factory=list)
    explanation: str = ""
    reason: str = ""  # a `Reason` value ("" from callers that predate reasons)
    offered: int = 0  # how many candidates the decision shows (1 answer, 2–3 clarify, 0 not found)

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["decision"] = self.decision.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KBResult:
        return cls(
            query=data["query"],
            language=data["language"],
            decision=Decision(data["decision"]),
            confidence=float(data["confidence"]),
            candidates=[Candidate(**c) for c in data.get("candidates", [])],
            explanation=data.get("explanation", ""),
            reason=str(data.get("reason", "")),
            offered=int(data.get("offered", 0)),
        )
