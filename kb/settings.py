"""Every knob of the retrieval core, in one frozen dataclass that callers build and pass in.

Owns `RetrievalSettings`. Must never read the environment or files: the bot's settings loader (or a test) builds
this once and hands it down.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from kb.encoders import E5, MINILM, USE


def _default_encoders() -> dict[str, tuple[str, ...]]:
    # English is best served by MiniLM, with e5 and USE adding independent errors; for Chinese MiniLM knows
    # nothing (bq top-1 0.04) and the two multilingual encoders carry the meaning.
    return {"en": (MINILM, E5, USE), "zh": (E5, USE)}


@dataclass(frozen=True)
class FusionWeights:
    """How much each per-entry signal counts after per-query z-scoring over the candidates."""

    dense_max: float = 0.5  # best single question of the entry, per encoder
    dense_centroid: float = 0.5  # mean of the entry's questions (and answer text), per encoder
    lexical: float = 0.25  # BM25 over the entry's questions + answer
    head: float = 2.0  # the KB-trained linear head (adaptation), when one is trained


@dataclass(frozen=True)
class RetrievalSettings:
    """Configuration of `HybridRetriever`, its calibration and its evaluation."""

    encoders: dict[str, tuple[str, ...]] = field(default_factory=_default_encoders)
    # Per encoder name, a local model directory overriding the bundled one (sentence-transformers models only).
    encoder_paths: dict[str, str] = field(default_factory=dict)
    encoder_threads: int | None = None
    dense_index: str = "flat"  # "flat" (exact, removable) or "hnsw" (approximate)
    candidate_questions: int = 100  # per encoder, from the question index
    candidate_entries: int = 50  # per signal, from the centroid index, BM25 and the head
    weights: FusionWeights = field(default_factory=FusionWeights)
    # The answer text (and category) describe the entry too; they join the centroid, BM25 and the head's training.
    use_answer_text: bool = True
    answer_text_chars: int = 200
    # Adaptation: a linear head trained on the KB's own question -> entry labels.
    train_head: bool = True
    head_inverse_l2: float = 10.0
    head_max_iter: int = 200
    head_min_entries: int = 2
    # A softmax over 100,000 entries is neither cheap to train nor useful (one example per class); large KBs skip it.
    head_max_entries: int = 5000
    adapt_in_background: bool = False
    adapt_debounce_s: float = 2.0
    # Calibration and the three-way decision.
    answer_threshold: float = 0.55
    clarify_threshold: float = 0.25
    clarify_max: int = 3
    clarify_ratio: float = 0.35  # a candidate joins a clarification when its confidence is this share of the best
    ambiguity_ratio: float = 0.9  # an answer becomes a clarification when the runner-up is this close to the best
    max_candidates: int = 5
    calibration_scale: float = 6.0
    calibration_offset: float = 0.5
    calibration_cosine_weight: float = 1.0
    calibration_probability_weight: float = 1.0
    calibration_cosine_floor: float = 0.5
    softmax_temperature: float = 1.0
    default_language: str = "en"
    query_cache_size: int = 4096

    def encoders_for(self, language: str) -> tuple[str, ...]:
        return self.encoders.get(language) or self.encoders.get(self.default_language) or (E5, USE)

    def with_changes(self, **changes: Any) -> RetrievalSettings:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["encoders"] = {k: list(v) for k, v in self.encoders.items()}
        return data
