"""Every knob of the retrieval core, in one frozen dataclass that callers build and pass in; and the knowledge
base's environment variables.

Owns `RetrievalSettings` and `KBConfig` (the `FD_KB_*` variables, composed into the front door's settings as
`Settings.kb`; `kb.service.KBSettings.from_config` turns it into the service's settings). Must never read the
environment or files: the process entry point builds the settings once (or a test builds them) and hands them down.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from backends.settings import EnvSettings, comma_separated
from kb.constants import UNANSWERED_GROUP_COSINE, VERSION_CHECK_INTERVAL_S
from kb.encoders import E5, MINILM, ONNX, USE, Encoder, build_encoder
from kb.finetune import FineTuneSettings


def _default_encoders() -> dict[str, tuple[str, ...]]:
    # English is best served by MiniLM, with e5 and USE adding independent errors; for Chinese MiniLM knows
    # nothing (bq top-1 0.04) and the two multilingual encoders carry the meaning.
    return {"en": (MINILM, E5, USE), "zh": (E5, USE)}


@dataclass(frozen=True)
class FusionWeights:
    """How much each per-entry signal counts after per-query z-scoring over the candidates."""

    dense_max: float = 0.0  # best single question of the entry, per encoder (hubness-corrected)
    dense_centroid: float = 0.25  # mean of the entry's questions (and answer text), per encoder
    lexical: float = 0.1  # BM25 over words (jieba for Chinese) of the entry's questions + answer
    characters: float = 0.0  # BM25 over single characters: Chinese wording that jieba segments differently
    head: float = 2.0  # the KB-trained linear head (adaptation), when one is trained


@dataclass(frozen=True)
class LanguageTuning:
    """The knobs that differ by language, chosen on that language's development set (docs/benchmarks.md).

    English (banking77, clinc150): the head carries the ranking and the centroid cosine separates out-of-scope
    questions. Chinese (bq): one question per entry leaves the head nothing to learn, e5 cosines are high for
    everything, and near-duplicate entries abound, so ranking leans on hubness-corrected cosines plus character
    BM25, and confidence on the fused margin alone, with a high bar before answering outright.
    """

    weights: FusionWeights = field(default_factory=FusionWeights)
    # Relative weight of each encoder inside the dense signals (1.0 when absent).
    encoder_weights: dict[str, float] = field(default_factory=dict)
    # CSLS-style hubness correction: cosine - penalty * (mean cosine of that KB question to its nearest questions
    # of other entries). Questions that resemble everything stop winning every query.
    hubness_penalty: float = 0.0
    hubness_neighbours: int = 10
    answer_threshold: float = 0.55
    clarify_threshold: float = 0.25
    calibration_scale: float = 6.0
    calibration_offset: float = 0.5
    calibration_probability_weight: float = 1.0
    calibration_cosine_weight: float = 4.0  # on the best entry's cosine (below), averaged over encoders
    calibration_cosine_floor: float = 0.6
    # The cosine the confidence reads: (centroid + share × best question) / (1 + share). The best question adds
    # what the centroid blurs: a message that matches one phrasing closely (hint3-sofmattress OOS AUROC 0.880 on
    # the centroid alone, 0.892 with both).
    calibration_question_share: float = 0.0

    def encoder_weight(self, name: str) -> float:
        return self.encoder_weights.get(name, 1.0)


@dataclass(frozen=True)
class AbstentionSettings:
    """How the answer and clarify thresholds are set from the KB's own entries (kb/abstention.py).

    The operator states a target instead of a threshold: at most `target_wrong_rate` of all messages answered with
    a wrong entry, on traffic where `out_of_scope_prior` of the messages have no entry (real shop traffic: about a
    third). The thresholds that meet it are re-fitted whenever the KB changes.
    """

    enabled: bool = True
    target_wrong_rate: float = 0.10
    out_of_scope_prior: float = 0.35
    # The clarify threshold: reached by this share of the unanswerable self-test questions, unless that would drop
    # below what `clarify_seen_share` of the answerable ones reach.
    clarify_unseen_share: float = 0.5
    clarify_seen_share: float = 0.95
    self_test_questions: int = 400
    # k ≥ 2: each tested question is asked of a head trained without it, and each left-out entry of a head trained
    # without that entry, in k folds (k heads more per adapt). The serving head finds its own training questions too
    # easily (banking77: left-out paraphrases first 100 % of the time against 80 % for customers; 83 % in 5 folds),
    # but the unanswerable half already charges confusable entries at the prior, so with the default prior 5 folds
    # count them twice (hint3 answered right 0.421 -> 0.368, docs/benchmarks.md). A low prior needs them (with one
    # fold the fit then sees no error at all), though on clinc150 and hint3 they still miss most in-scope errors.
    self_test_folds: int = 1
    min_questions: int = 20  # fewer self-test questions than this: keep the language's fixed thresholds
    # The answerable half of the self-test needs paraphrases (an entry's only phrasing cannot be left out of it).
    # Where fewer entries than this share have two or more, the in-scope errors are invisible to the fit (bq: one
    # question per entry, top-1 0.21, fitted thresholds answered 20 % wrongly), so the fixed thresholds stay.
    min_paraphrased_share: float = 0.5
    min_answer_threshold: float = 0.3
    # A crowded KB whose own fit wants more is held here (banking77: 0.976 meets its target; at 0.95 it answered
    # 11.7 % wrongly).
    max_answer_threshold: float = 0.99
    min_clarify_threshold: float = 0.05


@dataclass(frozen=True)
class CalibrationSettings:
    """How the calibration report reads the service record (kb/evidence.py, kb/proposal.py): which decisions, which
    evidence, and how many labels a proposal needs. The target is the KB's own (`AbstentionSettings`)."""

    days: int = 30  # the decisions of the last `days` days
    min_labelled: int = 30  # fewer decisions with a verdict than this: no proposal
    min_each: int = 5  # ... or fewer than this labelled right, or labelled wrong
    handoff_window_s: float = 300.0  # a handoff this soon after an answer counts against it
    max_events: int = 500_000  # read at most this many record events (newest decisions are then left out)


def _default_tuning() -> dict[str, LanguageTuning]:
    return {
        # The confidence reads the mean of the best entry's centroid and best-question cosines, steeply (8 per unit
        # of cosine) and squashed gently (3), so that confidences spread over (0, 1) and the thresholds fitted on
        # the KB's own questions land inside it instead of at its edge.
        # Its fixed thresholds serve only until the KB has tested itself, and for KBs too small to (20 questions).
        "en": LanguageTuning(
            calibration_question_share=1.0,
            calibration_cosine_weight=8.0,
            calibration_scale=3.0,
            answer_threshold=0.9,
            clarify_threshold=0.7,
        ),
        "zh": LanguageTuning(
            weights=FusionWeights(dense_max=1.5, dense_centroid=0.0, lexical=0.0, characters=0.5, head=2.0),
            encoder_weights={E5: 1.0, USE: 0.5},
            hubness_penalty=0.5,
            answer_threshold=0.8,
            clarify_threshold=0.3,
            calibration_cosine_weight=0.0,
        ),
    }


@dataclass(frozen=True)
class RetrievalSettings:
    """Configuration of `HybridRetriever`, its calibration and its evaluation."""

    encoders: dict[str, tuple[str, ...]] = field(default_factory=_default_encoders)
    # Per encoder name, a local model directory overriding the bundled one (sentence-transformers models only).
    encoder_paths: dict[str, str] = field(default_factory=dict)
    encoder_threads: int | None = None
    # How MiniLM runs (kb.encoders.ENCODER_RUNTIMES) and where ONNX exports of the bundled model are kept (None: a
    # folder in the system's temporary directory). Fine-tuned models keep theirs beside their weights.
    encoder_runtime: str = ONNX
    onnx_dir: str | None = None
    dense_index: str = "flat"  # "flat" (exact, removable) or "hnsw" (approximate)
    candidate_questions: int = 100  # per encoder, from the question index
    candidate_entries: int = 50  # per signal, from BM25 and the head
    tuning: dict[str, LanguageTuning] = field(default_factory=_default_tuning)
    # The answer text (and category) describe the entry too; they join the centroid, BM25 and the head's training.
    use_answer_text: bool = True
    answer_text_chars: int = 200
    # Adaptation: a linear head trained on the KB's own question -> entry labels, and the hubness statistics.
    train_head: bool = True
    head_inverse_l2: float = 100.0
    head_max_iter: int = 300
    head_min_entries: int = 2
    head_min_texts_per_entry: float = 1.5
    # A softmax over 100,000 entries is neither cheap to train nor useful (one example per class); large KBs skip it.
    head_max_entries: int = 5000
    # Hubness needs each question's nearest neighbours: quadratic, so very large KBs go without.
    hubness_max_questions: int = 20000
    # Encoder adaptation: sentence-transformers encoders fine-tuned on each language's entry groups, in the
    # background after edits, cached per KB content under `fine_tune_dir` (None: a temporary directory).
    fine_tune: FineTuneSettings | None = field(default_factory=FineTuneSettings)
    fine_tune_encoders: tuple[str, ...] = (MINILM,)
    fine_tune_dir: str | None = None
    fine_tune_max_entries: int = 2000
    adapt_in_background: bool = False
    adapt_debounce_s: float = 2.0
    # The three-way decision.
    abstention: AbstentionSettings = field(default_factory=AbstentionSettings)
    clarify_max: int = 3
    clarify_ratio: float = 0.35  # a candidate joins a clarification when its confidence is this share of the best
    ambiguity_ratio: float = 0.9  # an answer becomes a clarification when the runner-up is this close to the best
    max_candidates: int = 5
    softmax_temperature: float = 1.0
    default_language: str = "en"
    query_cache_size: int = 4096

    def encoders_for(self, language: str) -> tuple[str, ...]:
        return self.encoders.get(language) or self.encoders.get(self.default_language) or (E5, USE)

    def build_encoder(self, name: str) -> Encoder:
        return build_encoder(
            name,
            model_path=self.encoder_paths.get(name),
            threads=self.encoder_threads,
            runtime=self.encoder_runtime,
            export_root=self.onnx_dir,
        )

    def tuning_for(self, language: str) -> LanguageTuning:
        return self.tuning.get(language) or self.tuning.get(self.default_language) or LanguageTuning()

    def with_changes(self, **changes: Any) -> RetrievalSettings:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["encoders"] = {k: list(v) for k, v in self.encoders.items()}
        return data


EncoderName = Literal["minilm", "e5", "use", "hashing"]
EncoderNames = Annotated[tuple[EncoderName, ...], BeforeValidator(comma_separated)]


class KBConfig(EnvSettings):
    """The knowledge base's `FD_KB_*` variables."""

    model_config = EnvSettings.config("FD_KB_")
    doc_title = "Knowledge base (`kb/settings.py`)"

    encoders_en: EncoderNames = Field(
        ("minilm", "e5", "use"), description="Encoders for English FAQ entries (`minilm`, `e5`, `use`, `hashing`)."
    )
    encoders_zh: EncoderNames = Field(("e5", "use"), description="Encoders for Chinese FAQ entries.")
    minilm_path: str = Field(
        "",
        description="A local sentence-transformers model directory instead of the bundled all-MiniLM-L6-v2.",
        json_schema_extra={"doc_default": "(bundled)"},
    )
    encoder_runtime: Literal["onnx", "onnx-int8", "torch"] = Field(
        "onnx",
        description="How MiniLM runs: `onnx` (ONNX Runtime, the same vectors as torch in 40 % of the time; exported "
        "once, in a child process, under `var/kb-onnx`), `onnx-int8` (int8 weights: faster still, about two points "
        "less accurate) or `torch`.",
    )
    encoder_threads: int = Field(
        1,
        ge=1,
        le=64,
        description="Threads each encoder uses for one call. Concurrent questions already run side by side, and a "
        "question's encoders split into threads wait on each other whenever another process holds a core "
        "(e5: 25 ms a question with one thread, 100 ms with two, on a busy 2-core machine).",
    )
    adapt: bool = Field(
        True,
        description="Learn from the KB itself: the entry head and hubness statistics (redone in the background "
        "after edits).",
    )
    fine_tune: bool = Field(
        True,
        description="Also fine-tune MiniLM on the English entries in the background after edits (minutes of CPU per "
        "few hundred entries; models cached by KB content under `var/kb-models`).",
    )
    seed_demo: bool = Field(True, description="Seed the starter FAQ when the knowledge base is empty.")
    # Off when settings are built directly, so that apps built in tests (most never search) load no models.
    preload: bool = Field(
        False,
        description="Build the search index at start-up instead of on the first question; `frontdoor serve/run` "
        "turn it on unless it is set.",
    )
    version_check_s: float = Field(
        VERSION_CHECK_INTERVAL_S,
        gt=0,
        description="Seconds between safety-net checks that this replica's index matches the store.",
    )
    calibration_days: int = Field(
        30, ge=1, le=365, description="Days of recorded decisions the editor's calibration report reads."
    )
    calibration_min_labelled: int = Field(
        30,
        ge=1,
        description="Decisions with a verdict (agent label, helpful/unhelpful, handoff after an answer) a language "
        "needs before the calibration report proposes thresholds.",
    )
    calibration_handoff_window_s: float = Field(
        300.0, gt=0, description="A handoff this many seconds after an answer counts as evidence against it."
    )
    group_threshold: float = Field(
        UNANSWERED_GROUP_COSINE,
        gt=0,
        le=1,
        description="Cosine similarity at which unanswered questions share a group in the editor.",
    )
