"""Hybrid FAQ retrieval: dense (one or more encoders) + BM25 + a KB-trained head, fused per entry.

Owns `IndexedEntry`, the per-language indexes and `HybridRetriever` (upsert/remove/search/save/load/adapt). An entry is
indexed by all its questions; the best-matching question of an entry is what counts for it. Must never read the
environment, talk to a database, or decide what the bot says: it returns a `KBResult`, and the FAQ store calls
`upsert`/`remove` when entries are published or archived.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from kb.abstention import Folds, SelfTest, Thresholds, assign_folds, fit_thresholds
from kb.adaptation import LinearHead, train_head
from kb.calibration import ScoredEntry, calibrate, decide, explain, to_candidates
from kb.decision import KBResult
from kb.dense import DenseIndex
from kb.encoders import ONNX_INT8, CachedEncoder, Encoder, EncoderPool, normalise_rows, sentence_encoder
from kb.exceptions import IndexMismatch
from kb.finetune import fine_tune_in_subprocess, kb_fingerprint, prune_models
from kb.hubness import neighbour_similarity
from kb.language import detect_language
from kb.lexical import BM25Index
from kb.settings import LanguageTuning, RetrievalSettings
from kb.tokenize import char_ngrams, tokenize

FORMAT_VERSION = 1
_log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
ENTRIES = "entries.jsonl"


@dataclass(frozen=True)
class IndexedEntry:
    """What the retriever indexes for one published FAQ entry (its questions are paraphrases of one another)."""

    entry_id: str
    questions: tuple[str, ...]
    answer: str
    category: str
    language: str


class _TrainingSet(NamedTuple):
    """What a head learns from: one row per stored text (encoders concatenated), its entry, and the question id it
    came from (-1 for an entry's answer text)."""

    features: np.ndarray
    labels: list[str]
    question_ids: np.ndarray


@dataclass(frozen=True)
class _Probe:
    """What the self-test hides when it asks the KB one of its own questions (kb/abstention.py): the whole `entry`
    (a question this KB cannot answer) or the `question` alone (from the question index, its entry's centroid and
    word counts: an unseen paraphrase), and the `head` that scores it, trained without it (None: no head)."""

    head: LinearHead | None
    column: dict[str, int] = field(default_factory=dict)  # the head's column per entry
    entry: str | None = None
    question: int | None = None


def _zscore(values: np.ndarray) -> np.ndarray:
    std = float(values.std())
    if std < 1e-9:
        return np.zeros_like(values)
    return (values - float(values.mean())) / std


class _Shard:
    """Everything indexed for one language, with that language's encoders. Callers hold the retriever's lock."""

    def __init__(
        self,
        language: str,
        encoder_names: tuple[str, ...],
        dims: Mapping[str, int],
        kind: str,
        tuning: LanguageTuning,
    ) -> None:
        self.language = language
        self.encoder_names = encoder_names
        self.tuning = tuning
        self.questions = {name: DenseIndex(dims[name], kind) for name in encoder_names}
        self.centroids = {name: DenseIndex(dims[name], kind) for name in encoder_names}
        self.extra_vectors: dict[str, dict[int, np.ndarray]] = {name: {} for name in encoder_names}
        # Per encoder, question id -> mean cosine to its nearest questions of other entries (refreshed by adapt).
        self.hubness: dict[str, dict[int, float]] = {name: {} for name in encoder_names}
        self.bm25 = BM25Index()
        self.characters = BM25Index()
        self.entry_number: dict[str, int] = {}
        self.entry_of_number: dict[int, str] = {}
        self.question_ids: dict[str, list[int]] = {}
        self.question_text: dict[int, str] = {}
        self.question_entry: dict[int, str] = {}
        self.head: LinearHead | None = None
        self.head_column: dict[str, int] = {}
        # Encoders fine-tuned on this shard's entries (name -> encoder, and the model directory for save/load);
        # `generation` counts their swaps so an upsert encoded with the previous model knows to encode again.
        self.tuned: dict[str, Encoder] = {}
        self.tuned_paths: dict[str, str] = {}
        self.generation = 0
        self.version = 0
        # Answer / clarify thresholds fitted on this shard's own questions (kb/abstention.py); None: the tuning's.
        self.thresholds: Thresholds | None = None

    def __len__(self) -> int:
        return len(self.entry_number)

    def index_terms(self, number: int, texts: Iterable[str]) -> None:
        words: list[str] = []
        characters: list[str] = []
        for text in texts:
            if text:
                words.extend(tokenize(text, self.language))
                if self.tuning.weights.characters > 0:
                    characters.extend(_characters(text))
        self.bm25.add(number, words)
        if characters:
            self.characters.add(number, characters)


def _place_vectors(
    questions: DenseIndex,
    centroids: DenseIndex,
    extras: dict[int, np.ndarray],
    number: int,
    ids: list[int],
    block: np.ndarray,
) -> None:
    """Store one entry's vectors: its questions under `ids`, then (if `block` has one more row) its answer text."""
    if ids:
        questions.add(ids, block[: len(ids)])
    if len(block) > len(ids):
        # A copy: a view would keep the whole encoded batch (questions included) alive.
        extras[number] = block[len(ids)].copy()
    if len(block):
        centroids.add([number], normalise_rows(block.mean(axis=0)))


def _precision(settings: RetrievalSettings) -> str:
    """What the stored vectors depend on beyond the encoder names: torch and fp32 ONNX agree, int8 weights do not."""
    return "int8" if settings.encoder_runtime == ONNX_INT8 else "fp32"


def _encode_documents(encoder: Encoder, texts: Sequence[str]) -> np.ndarray:
    # Indexing goes to the encoder directly: documents are not worth a slot in the query cache.
    inner = getattr(encoder, "inner", encoder)
    return inner.encode(texts) if texts else np.zeros((0, encoder.dim), dtype=np.float32)


def _characters(text: str) -> list[str]:
    return [c for c in char_ngrams(text, 1, 1) if c.strip() and c.isalnum()]


class HybridRetriever:
    """Search FAQ entries by meaning and words; decide answer / clarify / not_found.

    Thread safety: encoding (the slow part) happens outside the lock; index mutation and lookup happen under one
    lock and take milliseconds, so a search running during an upsert sees the index either before or after it.
    """

    def __init__(
        self, settings: RetrievalSettings | None = None, encoders: Mapping[str, Encoder] | None = None
    ) -> None:
        self.settings = settings or RetrievalSettings()
        self._pool = EncoderPool(self.settings.build_encoder, prebuilt=dict(encoders or {}))
        self._lock = threading.RLock()
        self._entries: dict[str, IndexedEntry] = {}
        self._shards: dict[str, _Shard] = {}
        self._next_question_id = 0
        self._next_entry_number = 0
        self._timer: threading.Timer | None = None
        self._adapting = threading.Lock()
        self._tuning = threading.Lock()
        # Called from the background thread after fine-tuned encoders were swapped in (the service re-saves then).
        self.on_fine_tuned: Callable[[], object] | None = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        # Thresholds an editor applied from the calibration report (kb/overrides.py), per language: they win over the
        # self-test's fit, which goes on being refitted underneath (and serves again once they are cleared).
        self._overrides: dict[str, Thresholds] = {}

    # ----- reading -----
    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._entries

    def get(self, entry_id: str) -> IndexedEntry | None:
        return self._entries.get(entry_id)

    def entries(self) -> list[IndexedEntry]:
        with self._lock:
            return list(self._entries.values())

    def encoder(self, name: str) -> Encoder:
        return self._pool.get(name)

    def _encoder_for(self, shard: _Shard, name: str) -> Encoder:
        return shard.tuned.get(name) or self._pool.get(name)

    def thresholds(self, *, fitted: bool = False) -> dict[str, Thresholds]:
        """The answer and clarify thresholds in force per language with entries (or an applied pair): applied by an
        editor (`set_overrides`), else fitted by `adapt`, else the tuning's fixed ones. `fitted`: leave the applied
        ones out."""
        with self._lock:
            in_force = {
                language: (None if fitted else self._overrides.get(language))
                or shard.thresholds
                or Thresholds(shard.tuning.answer_threshold, shard.tuning.clarify_threshold, "fixed")
                for language, shard in self._shards.items()
                if len(shard)
            }
            # An applied pair is in force before its language has entries too: it decides their first lookups.
            return in_force if fitted else self._overrides | in_force

    def set_overrides(self, overrides: Mapping[str, Thresholds]) -> None:
        """Make `overrides` (language → thresholds) the applied ones; a language left out goes back to its fit."""
        with self._lock:
            self._overrides = dict(overrides)

    def languages(self) -> list[str]:
        return [lang for lang, shard in self._shards.items() if len(shard)]

    # ----- writing -----
    def _shard(self, language: str) -> _Shard:
        shard = self._shards.get(language)
        if shard is None:
            names = self.settings.encoders_for(language)
            dims = {name: self._pool.get(name).dim for name in names}
            shard = _Shard(language, names, dims, self.settings.dense_index, self.settings.tuning_for(language))
            self._shards[language] = shard
        return shard

    def _entry_texts(self, entry: IndexedEntry) -> tuple[list[str], str]:
        questions = [q.strip() for q in entry.questions if q.strip()]
        extra = ""
        if self.settings.use_answer_text:
            extra = " ".join(entry.answer.split())[: self.settings.answer_text_chars]
        return questions, extra

    def upsert(self, entry: IndexedEntry) -> None:
        """Index (or re-index) one entry under all its questions."""
        self.upsert_many([entry])

    def upsert_many(self, entries: Iterable[IndexedEntry], batch_size: int = 256) -> int:
        """Index many entries, encoding them in batches; returns how many were indexed."""
        pending = list(entries)
        for start in range(0, len(pending), batch_size):
            self._upsert_batch(pending[start : start + batch_size])
        if pending:
            self._after_change()
        return len(pending)

    def _upsert_batch(self, batch: Sequence[IndexedEntry]) -> None:
        by_language: dict[str, list[IndexedEntry]] = {}
        for entry in batch:
            by_language.setdefault(entry.language or self.settings.default_language, []).append(entry)
        for language, group in by_language.items():
            texts: list[str] = []
            spans: list[tuple[int, int, int]] = []  # (start, question count, has extra)
            for entry in group:
                questions, extra = self._entry_texts(entry)
                spans.append((len(texts), len(questions), 1 if extra else 0))
                texts.extend(questions)
                if extra:
                    texts.append(extra)
            while True:
                with self._lock:
                    shard = self._shard(language)
                    generation = shard.generation
                    encoders = {name: self._encoder_for(shard, name) for name in shard.encoder_names}
                vectors = {name: _encode_documents(encoder, texts) for name, encoder in encoders.items()}
                with self._lock:
                    if shard.generation == generation:
                        break
            with self._lock:
                for entry, (start, count, has_extra) in zip(group, spans, strict=True):
                    self._remove_locked(entry.entry_id)
                    self._insert_locked(
                        shard,
                        entry,
                        texts[start : start + count],
                        {n: v[start : start + count + has_extra] for n, v in vectors.items()},
                    )

    def _insert_locked(
        self,
        shard: _Shard,
        entry: IndexedEntry,
        questions: list[str],
        vectors: Mapping[str, np.ndarray],
    ) -> None:
        number = self._next_entry_number
        self._next_entry_number += 1
        ids = list(range(self._next_question_id, self._next_question_id + len(questions)))
        self._next_question_id += len(questions)
        shard.entry_number[entry.entry_id] = number
        shard.entry_of_number[number] = entry.entry_id
        shard.question_ids[entry.entry_id] = ids
        for qid, text in zip(ids, questions, strict=True):
            shard.question_text[qid] = text
            shard.question_entry[qid] = entry.entry_id
        for name, matrix in vectors.items():
            _place_vectors(shard.questions[name], shard.centroids[name], shard.extra_vectors[name], number, ids, matrix)
        _, extra = self._entry_texts(entry)
        shard.index_terms(number, [*questions, extra, entry.category])
        shard.version += 1
        self._entries[entry.entry_id] = entry

    def remove(self, entry_id: str) -> bool:
        """Stop finding `entry_id`; False when it was not indexed."""
        with self._lock:
            removed = self._remove_locked(entry_id)
        if removed:
            self._after_change()
        return removed

    def _remove_locked(self, entry_id: str) -> bool:
        entry = self._entries.pop(entry_id, None)
        if entry is None:
            return False
        for shard in self._shards.values():
            number = shard.entry_number.pop(entry_id, None)
            if number is None:
                continue
            del shard.entry_of_number[number]
            ids = shard.question_ids.pop(entry_id, [])
            for qid in ids:
                shard.question_text.pop(qid, None)
                shard.question_entry.pop(qid, None)
            for name in shard.encoder_names:
                shard.questions[name].remove(ids)
                shard.centroids[name].remove([number])
                shard.extra_vectors[name].pop(number, None)
                for qid in ids:
                    shard.hubness[name].pop(qid, None)
            shard.bm25.remove(number)
            shard.characters.remove(number)
            # What the head learnt about this entry is stale now; until it retrains, the entry is scored as new.
            shard.head_column.pop(entry_id, None)
            shard.version += 1
        return True

    # ----- adaptation -----
    def _after_change(self) -> None:
        if self.settings.train_head and self.settings.adapt_in_background:
            self.schedule_adaptation()

    def schedule_adaptation(self, delay_s: float | None = None) -> None:
        """Adapt (and then fine-tune) in a background thread after a quiet period (edits come in bursts)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            delay = self.settings.adapt_debounce_s if delay_s is None else delay_s
            self._timer = threading.Timer(delay, self._adapt_in_background)
            self._timer.daemon = True
            self._timer.start()

    def wait_for_adaptation(self, timeout_s: float = 60.0) -> None:
        timer = self._timer
        if timer is not None:
            timer.join(timeout_s)
        with self._tuning, self._adapting:
            pass

    def close(self) -> None:
        """Stop pending adaptation and delete models fine-tuned into a temporary directory (none with a
        `fine_tune_dir`). The retriever keeps answering with what it has loaded."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            scratch, self._scratch = self._scratch, None
        if scratch is not None:
            scratch.cleanup()

    def adapt(self) -> dict[str, int]:
        """Learn what the KB itself can teach, per language; returns entries per trained head.

        Two things: the hubness statistic of every question (when the language's tuning penalises hubs) and a
        linear head on the entries' questions (+ answer text) (when the tuning weighs the head). Reads stored
        vectors, so nothing is re-encoded. Results are swapped in atomically; entries added meanwhile get neutral
        values until the next run.
        """
        trained: dict[str, int] = {}
        with self._adapting:
            for language in list(self._shards):
                with self._lock:
                    shard = self._shards[language]
                self._refresh_hubness(shard)
                head = self._train_head(shard)
                if head is not None:
                    trained[language] = len(head.entry_ids)
                self.refit_thresholds(shard)
        return trained

    def refit_thresholds(self, shard: _Shard) -> Thresholds:
        """Set `shard`'s answer and clarify thresholds from its own questions (kb/abstention.py)."""
        tuning = shard.tuning
        fixed = (tuning.answer_threshold, tuning.clarify_threshold)
        recipe = self.settings.abstention
        with self._lock:
            counts = [len(ids) for ids in shard.question_ids.values()]
        paraphrased = sum(1 for c in counts if c > 1) / max(len(counts), 1)
        if not recipe.enabled or paraphrased < recipe.min_paraphrased_share:
            thresholds = Thresholds(answer=fixed[0], clarify=fixed[1], source="fixed")
        else:
            seen: list[float] = []
            seen_right: list[bool] = []
            unseen: list[float] = []
            for kept, dropped, entry_id in self.self_test(shard, recipe.self_test_questions):
                if kept:
                    seen.append(calibrate(kept, self.settings, tuning)[0])
                    seen_right.append(kept[0].entry_id == entry_id)
                if dropped:
                    unseen.append(calibrate(dropped, self.settings, tuning)[0])
            thresholds = fit_thresholds(SelfTest(seen, seen_right, unseen), recipe, fixed)
        with self._lock:
            shard.thresholds = thresholds
        _log.info("knowledge-base thresholds for %r: %s", shard.language, thresholds.to_dict())
        return thresholds

    def _adapt_in_background(self) -> None:
        try:
            self.adapt()
            installed = self.fine_tune()
            if installed:
                _log.info("fine-tuned encoders now serving: %s", installed)
                if self.on_fine_tuned is not None:
                    self.on_fine_tuned()
        except Exception:  # a failed adaptation must not kill the thread silently; the old state keeps serving
            _log.exception("knowledge-base adaptation failed; the previous head and encoders keep serving")

    def fine_tune(self) -> dict[str, str]:
        """Fine-tune each language's tunable encoders on its entries and swap them in with a head retrained on them.

        Returns language -> model directory for the encoders this call installed (empty when the installed ones
        already match the entries). A model is cached by the KB's content
        (same entries -> same directory), so a restart or a replica with the same content reuses it. Entries are
        re-encoded with the new model outside the lock; an edit landing meanwhile makes the swap start over.
        """
        installed: dict[str, str] = {}
        recipe = self.settings.fine_tune
        if recipe is None or not self.settings.train_head:
            return installed
        with self._tuning:
            for language in list(self._shards):
                with self._lock:
                    shard = self._shards[language]
                    groups = [texts for _, _, texts in self._texts_locked(shard)]
                for name in shard.encoder_names:
                    if name not in self.settings.fine_tune_encoders:
                        continue
                    if not 2 <= len(groups) <= self.settings.fine_tune_max_entries:
                        continue
                    base = self.settings.encoder_paths.get(name)
                    directory = self._fine_tune_root() / kb_fingerprint(groups, f"{name}:{base}", recipe)
                    if shard.tuned_paths.get(name) != str(directory):
                        if not directory.exists():
                            fine_tune_in_subprocess(groups, directory, recipe, base, self.settings.encoder_runtime)
                        self._install_tuned(shard, name, directory)
                        installed[language] = str(directory)
            if installed:
                for language in installed:
                    self._refresh_hubness(self._shards[language])
                    self.refit_thresholds(self._shards[language])
                in_use = {Path(path) for shard in self._shards.values() for path in shard.tuned_paths.values()}
                prune_models(self._fine_tune_root(), in_use)
        return installed

    def _fine_tune_root(self) -> Path:
        if self.settings.fine_tune_dir:
            return Path(self.settings.fine_tune_dir)
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="frontdoor-finetune-")
        return Path(self._scratch.name)

    def _texts_locked(self, shard: _Shard) -> list[tuple[str, list[int], list[str]]]:
        """Per entry of `shard`: its id, its question ids, and its texts (questions, then the answer text if any)."""
        out = []
        for entry_id, ids in shard.question_ids.items():
            _, extra = self._entry_texts(self._entries[entry_id])
            out.append((entry_id, ids, [shard.question_text[q] for q in ids] + ([extra] if extra else [])))
        return out

    def _tuned_encoder(self, directory: Path) -> Encoder:
        settings = self.settings
        model = sentence_encoder(
            directory, runtime=settings.encoder_runtime, threads=settings.encoder_threads, export_dir=directory
        )
        return CachedEncoder(model, self.settings.query_cache_size)

    def _install_tuned(self, shard: _Shard, name: str, directory: Path) -> None:
        encoder = self._tuned_encoder(directory)
        while True:
            with self._lock:
                version = shard.version
                plan = self._texts_locked(shard)
            matrix = _encode_documents(encoder, [text for _, _, texts in plan for text in texts])
            with self._lock:
                if shard.version != version:
                    continue  # an edit landed while encoding: encode the new content instead
                questions_index = DenseIndex(encoder.dim, self.settings.dense_index)
                centroids = DenseIndex(encoder.dim, self.settings.dense_index)
                extras: dict[int, np.ndarray] = {}
                row = 0
                for entry_id, ids, texts in plan:
                    block = matrix[row : row + len(texts)]
                    row += len(texts)
                    _place_vectors(questions_index, centroids, extras, shard.entry_number[entry_id], ids, block)
                training = self._training_set_locked(shard, {name: (questions_index, extras)})
            # The head learnt on the old model's vectors; its successor is ready before the swap, so queries never
            # meet a model and a head that disagree.
            head = self._fit_head(shard, training.features, training.labels, version)
            with self._lock:
                if shard.version != version:
                    continue
                shard.questions[name], shard.centroids[name], shard.extra_vectors[name] = (
                    questions_index,
                    centroids,
                    extras,
                )
                shard.hubness[name] = {}
                shard.tuned[name] = encoder
                shard.tuned_paths[name] = str(directory)
                shard.generation += 1
                shard.head = head
                shard.head_column = {e: i for i, e in enumerate(head.entry_ids)} if head is not None else {}
                return

    def _refresh_hubness(self, shard: _Shard) -> None:
        tuning = shard.tuning
        with self._lock:
            owners = [(qid, entry_id) for entry_id, ids in shard.question_ids.items() for qid in ids]
            if tuning.hubness_penalty <= 0 or not owners or len(owners) > self.settings.hubness_max_questions:
                shard.hubness = {name: {} for name in shard.encoder_names}
                return
            qids = [qid for qid, _ in owners]
            labels = np.array([shard.entry_number[entry_id] for _, entry_id in owners])
            matrices = {name: shard.questions[name].vectors(qids) for name in shard.encoder_names}
        fresh = {
            name: dict(zip(qids, neighbour_similarity(m, labels, tuning.hubness_neighbours).tolist(), strict=True))
            for name, m in matrices.items()
        }
        with self._lock:
            shard.hubness = fresh

    def _train_head(self, shard: _Shard) -> LinearHead | None:
        with self._lock:
            version = shard.version
            training = self._training_set_locked(shard)
        head = self._fit_head(shard, training.features, training.labels, version)
        with self._lock:
            shard.head = head
            shard.head_column = {e: i for i, e in enumerate(head.entry_ids)} if head is not None else {}
        return head

    def _fit_head(self, shard: _Shard, features: np.ndarray, labels: list[str], version: int) -> LinearHead | None:
        """Train the head on `features` -> `labels`, or None where a head would not help (see the settings)."""
        distinct = len(set(labels))
        usable = self.settings.head_min_entries <= distinct <= self.settings.head_max_entries
        # With about one text per entry (bq: the answer repeats the question) a head learns nothing that nearest
        # neighbours do not already know, and its softmax drowns the other signals.
        texts = len(np.unique(features.round(4), axis=0)) if len(features) else 0
        usable = usable and texts >= self.settings.head_min_texts_per_entry * distinct
        if not self.settings.train_head or shard.tuning.weights.head <= 0 or distinct < 2 or not usable:
            return None
        return train_head(
            features,
            labels,
            inverse_l2=self.settings.head_inverse_l2,
            max_iter=self.settings.head_max_iter,
            version=version,
        )

    def _training_set_locked(
        self, shard: _Shard, replaced: Mapping[str, tuple[DenseIndex, dict[int, np.ndarray]]] | None = None
    ) -> _TrainingSet:
        """Every stored text vector of `shard` (encoders concatenated), its entry and its question; `replaced` swaps
        in the question index and answer-text vectors of some encoders (a fine-tuned model about to be installed)."""
        blocks: list[np.ndarray] = []
        labels: list[str] = []
        question_ids: list[int] = []
        stores = {name: (shard.questions[name], shard.extra_vectors[name]) for name in shard.encoder_names}
        stores.update(replaced or {})
        for entry_id, ids in shard.question_ids.items():
            number = shard.entry_number[entry_id]
            parts = []
            for name in shard.encoder_names:
                questions, extras = stores[name]
                rows = questions.vectors(ids)
                extra = extras.get(number)
                if extra is not None:
                    rows = np.vstack([rows, extra[None, :]])
                parts.append(rows)
            block = np.hstack(parts)
            blocks.append(block)
            labels.extend([entry_id] * block.shape[0])
            question_ids.extend([*ids, -1][: block.shape[0]])
        if not blocks:
            return _TrainingSet(np.zeros((0, 0), dtype=np.float32), [], np.zeros(0, dtype=np.int64))
        return _TrainingSet(np.vstack(blocks), labels, np.array(question_ids, dtype=np.int64))

    def self_test(
        self, shard: _Shard, limit: int, seed: int = 0
    ) -> list[tuple[list[ScoredEntry], list[ScoredEntry], str]]:
        """Ask the KB its own questions: per sampled question, the candidates with that question left out (an
        unseen paraphrase: answerable), the candidates with its whole entry left out (a question the KB cannot
        answer), and the entry it belongs to. With `AbstentionSettings.self_test_folds` k ≥ 2 each is scored by a
        head trained without it (`assign_folds`: k heads, each without a k-th of the entries and some questions of
        the others); else by the serving head, which has learnt them. Reads stored vectors; nothing is encoded.
        The lock is taken per question, so customers' searches interleave with a long self-test."""
        with self._lock:
            owners = [(qid, entry_id) for entry_id, ids in shard.question_ids.items() for qid in ids]
            multi = [(q, e) for q, e in owners if len(shard.question_ids[e]) > 1] or owners
            rng = np.random.default_rng(seed)
            picked = [multi[int(i)] for i in rng.permutation(len(multi))[:limit]]
            folds = self.settings.abstention.self_test_folds
            # The serving head answers every fold, as it answers customers, unless folds are asked for.
            serving = _Probe(shard.head, dict(shard.head_column))
            training = self._training_set_locked(shard) if shard.head is not None and folds > 1 else None
            version = shard.version
        assigned = Folds(1)
        probes: list[_Probe] = []
        if training is not None:
            tested: dict[str, list[int]] = {}
            for qid, entry_id in picked:
                tested.setdefault(entry_id, []).append(qid)
            assigned = assign_folds(tested, folds, seed)
            probes = self._fold_probes(shard, training, assigned, version)
        out = []
        for qid, entry_id in picked:
            with self._lock:
                if entry_id not in shard.question_ids or qid not in shard.question_text:
                    continue  # edited away meanwhile
                vectors = {name: shard.questions[name].vectors([qid])[0] for name in shard.encoder_names}
                text = shard.question_text[qid]
                words = tokenize(text, shard.language)
                characters = _characters(text) if shard.tuning.weights.characters > 0 else []
                # An entry's only question cannot be left out (the entry would have nothing to match): it is asked
                # as it stands, so such KBs (one phrasing per entry) are judged by their unanswerable side alone.
                alone = len(shard.question_ids[entry_id]) < 2
                kept = probes[assigned.questions[qid]] if probes else serving
                dropped = probes[assigned.entries[entry_id]] if probes else serving
                kept = replace(kept, question=None if alone else qid)
                dropped = replace(dropped, entry=entry_id)
                seen = self._score_locked(shard, vectors, words, characters, kept)
                unseen = self._score_locked(shard, vectors, words, characters, dropped)
            out.append((seen, unseen, entry_id))
        return out

    def _fold_probes(self, shard: _Shard, training: _TrainingSet, folds: Folds, version: int) -> list[_Probe]:
        """Per fold, a head trained without what that fold leaves out (`Folds`: its entries, their answer texts
        included, and its questions of the other entries)."""
        labels = np.array(training.labels)
        probes = []
        for fold in range(folds.count):
            questions = [q for q, f in folds.questions.items() if f == fold]
            entries = [e for e, f in folds.entries.items() if f == fold]
            keep = ~np.isin(training.question_ids, questions) & ~np.isin(labels, entries)
            kept_labels = [label for label, kept in zip(training.labels, keep, strict=True) if kept]
            head = self._fit_head(shard, training.features[keep], kept_labels, version)
            probes.append(_Probe(head, {e: i for i, e in enumerate(head.entry_ids)} if head is not None else {}))
        return probes

    # ----- searching -----
    def _pick_shard(self, language: str) -> _Shard | None:
        shard = self._shards.get(language)
        if shard is not None and len(shard):
            return shard
        # A question in a language the KB has no entries in still deserves the multilingual encoders' best try.
        for other in self._shards.values():
            if len(other):
                return other
        return None

    def search(self, query: str, language: str | None = None) -> KBResult:
        """Score entries for `query` and decide answer / clarify / not_found."""
        lang = language or detect_language(query, self.settings.default_language)
        with self._lock:
            shard = self._pick_shard(lang)
            encoders = {name: self._encoder_for(shard, name) for name in shard.encoder_names} if shard else {}
        if shard is None:
            return self._result(query, lang, [], self.settings.tuning_for(lang))
        query_vectors = {name: encoder.encode([query])[0] for name, encoder in encoders.items()}
        words = tokenize(query, shard.language)
        characters = _characters(query) if shard.tuning.weights.characters > 0 else []
        with self._lock:
            scored = self._score_locked(shard, query_vectors, words, characters)
            thresholds = self._overrides.get(shard.language) or shard.thresholds
        return self._result(query, lang, scored, shard.tuning, thresholds)

    def _candidates_locked(
        self,
        shard: _Shard,
        vectors: Mapping[str, np.ndarray],
        words: list[str],
        characters: list[str],
        probe: _Probe,
    ) -> tuple[list[str], np.ndarray | None]:
        """Entries worth scoring: each encoder's nearest questions, BM25's and `probe.head`'s best (never the entry
        it hides); and the head's logits.

        Centroids are not searched: they only re-score candidates, and skipping their search saves a third of the
        memory traffic of a query on a large KB.
        """
        s = self.settings
        candidates: set[str] = set()
        question_entry = shard.question_entry
        for name, vector in vectors.items():
            _, hit_ids = shard.questions[name].search(vector[None, :], s.candidate_questions)
            candidates.update(question_entry[int(i)] for i in hit_ids[0] if int(i) in question_entry)
        for index, terms in ((shard.bm25, words), (shard.characters, characters)):
            for number, _ in index.search(terms, s.candidate_entries) if terms else ():
                candidates.add(shard.entry_of_number[number])
        head_logits: np.ndarray | None = None
        head = probe.head
        if head is not None and shard.tuning.weights.head > 0:
            features = np.concatenate([vectors[name] for name in shard.encoder_names])[None, :]
            head_logits = head.logits(features)[0]
            order = np.argsort(-head_logits)[: s.candidate_entries]
            candidates.update(head.entry_ids[j] for j in order if head.entry_ids[j] in shard.entry_number)
            if probe.entry is not None and probe.entry in probe.column:
                head_logits = head_logits.copy()
                head_logits[probe.column[probe.entry]] = -np.inf
        candidates.discard(probe.entry or "")
        return sorted(candidates), head_logits

    def _centroid_without_locked(self, shard: _Shard, name: str, entry_id: str, question: int) -> np.ndarray:
        """`entry_id`'s centroid under encoder `name` as if `question` were not one of its questions (the
        self-test's unseen paraphrase must not find itself inside its entry's centroid)."""
        rows = shard.questions[name].vectors([q for q in shard.question_ids[entry_id] if q != question])
        extra = shard.extra_vectors[name].get(shard.entry_number[entry_id])
        if extra is not None:
            rows = np.vstack([rows, extra[None, :]])
        centroid: np.ndarray = normalise_rows(rows.mean(axis=0))[0]  # never empty: an only question is not hidden
        return centroid

    def _score_locked(
        self,
        shard: _Shard,
        vectors: Mapping[str, np.ndarray],
        words: list[str],
        characters: list[str],
        probe: _Probe | None = None,
    ) -> list[ScoredEntry]:
        """The best `max_candidates` entries for one query. The self-test (kb/abstention.py) passes a `probe` that
        hides one entry (a question the KB cannot answer) or one question (a paraphrase the KB has not seen), to
        learn how confident the KB's own answerable and unanswerable questions look; a customer's query has none."""
        s = self.settings
        tuning = shard.tuning
        weights = tuning.weights
        probe = probe or _Probe(shard.head, shard.head_column)
        ordered, head_logits = self._candidates_locked(shard, vectors, words, characters, probe)
        if not ordered:
            return []
        n = len(ordered)
        names = shard.encoder_names
        encoder_weight = np.array([tuning.encoder_weight(name) for name in names], dtype=np.float32)
        encoder_weight /= max(float(encoder_weight.sum()), 1e-9)
        best_cos = np.zeros((len(names), n), dtype=np.float32)
        centroid_cos = np.zeros_like(best_cos)
        matched: list[str] = [""] * n
        votes = np.zeros((n,), dtype=np.float32)
        centroid_votes = np.zeros((n,), dtype=np.float32)
        numbers = [shard.entry_number[e] for e in ordered]
        # One gather and one matrix product per encoder; reduceat takes each entry's best question.
        flat_ids: list[int] = []
        starts: list[int] = []
        for entry_id in ordered:
            starts.append(len(flat_ids))
            ids = shard.question_ids[entry_id]
            if probe.question in ids:
                ids = [q for q in ids if q != probe.question]
            flat_ids.extend(ids or [-1])
        owner = np.repeat(np.arange(n), np.diff(np.append(starts, len(flat_ids))))
        hidden = probe.question
        hidden_entry = shard.question_entry.get(hidden, "") if hidden is not None else ""
        hidden_in = ordered.index(hidden_entry) if hidden_entry in ordered else -1
        for e_index, name in enumerate(names):
            vector = vectors[name]
            centroids = shard.centroids[name].vectors(numbers)
            if hidden is not None and hidden_in >= 0:
                centroids[hidden_in] = self._centroid_without_locked(shard, name, ordered[hidden_in], hidden)
            centroid_cos[e_index] = centroids @ vector
            sims = shard.questions[name].vectors(flat_ids) @ vector
            best_cos[e_index] = np.maximum.reduceat(sims, starts)
            if e_index == 0:
                is_best = sims == best_cos[e_index][owner]
                for position in np.flatnonzero(is_best)[::-1]:  # reversed: the first best question wins
                    matched[int(owner[position])] = shard.question_text.get(flat_ids[int(position)], "")
            hubness = shard.hubness[name]
            if tuning.hubness_penalty > 0 and hubness:
                fallback = float(np.mean(list(hubness.values())))
                penalty = np.array([hubness.get(q, fallback) for q in flat_ids], dtype=np.float32)
                sims = sims - tuning.hubness_penalty * penalty
            votes += encoder_weight[e_index] * _zscore(np.maximum.reduceat(sims, starts))
            centroid_votes += encoder_weight[e_index] * _zscore(centroid_cos[e_index])
        fused = weights.dense_max * votes + weights.dense_centroid * centroid_votes
        # A hidden question is the query itself: its terms leave its entry's documents with it.
        source = shard.entry_number[hidden_entry] if hidden_in >= 0 else None
        bm25 = shard.bm25.score(words, numbers, source)
        lexical_raw = np.array([bm25[num] for num in numbers], dtype=np.float32)
        fused += weights.lexical * _zscore(lexical_raw)
        if weights.characters > 0 and characters:
            by_character = shard.characters.score(characters, numbers, source)
            fused += weights.characters * _zscore(np.array([by_character[num] for num in numbers], dtype=np.float32))
        head_probability: list[float | None] = [None] * n
        if head_logits is not None:
            probabilities = np.exp(head_logits - head_logits.max())
            probabilities /= probabilities.sum()
            column = probe.column
            known = np.array([e in column for e in ordered])
            raw = np.array([head_logits[column[e]] if e in column else 0.0 for e in ordered], dtype=np.float32)
            if known.any():
                # An entry published since the head was trained borrows its centroid z-score, so it competes
                # fairly until the background retraining includes it.
                z = _zscore(centroid_votes)
                z[known] = _zscore(raw[known])
                fused += weights.head * z
            head_probability = [float(probabilities[column[e]]) if e in column else None for e in ordered]
        dense_mean = encoder_weight @ best_cos
        centroid_mean = encoder_weight @ centroid_cos
        scale = shard.bm25.max_score(words)
        top = np.argsort(-fused)[: s.max_candidates]
        out: list[ScoredEntry] = []
        for i in top:
            entry = self._entries[ordered[int(i)]]
            out.append(
                ScoredEntry(
                    entry_id=entry.entry_id,
                    question=entry.questions[0] if entry.questions else "",
                    matched_question=matched[int(i)],
                    answer=entry.answer,
                    category=entry.category,
                    fused=float(fused[int(i)]),
                    dense=float(dense_mean[int(i)]),
                    centroid=float(centroid_mean[int(i)]),
                    lexical=float(lexical_raw[int(i)] / scale) if scale > 0 else 0.0,
                    head_probability=head_probability[int(i)],
                )
            )
        return out

    def _result(
        self,
        query: str,
        language: str,
        scored: list[ScoredEntry],
        tuning: LanguageTuning,
        thresholds: Thresholds | None = None,
    ) -> KBResult:
        confidences = calibrate(scored, self.settings, tuning)
        limits = thresholds or Thresholds(tuning.answer_threshold, tuning.clarify_threshold, "fixed")
        decision, shown, reason = decide(confidences, self.settings, limits)
        candidates = to_candidates(scored, confidences)
        return KBResult(
            query=query,
            language=language,
            decision=decision,
            confidence=candidates[0].confidence if candidates else 0.0,
            candidates=candidates,
            explanation=explain(decision, reason, candidates, self.settings, limits, shown),
            reason=reason.value,
            offered=shown,
        )

    # ----- persistence -----
    def save(self, directory: str | Path) -> None:
        """Write entries, vectors and heads to `directory` (created if needed); load() needs no re-encoding."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        with self._lock:
            manifest = {
                "format": FORMAT_VERSION,
                "saved_at": time.time(),
                "precision": _precision(self.settings),
                "shards": {},
            }
            with (path / ENTRIES).open("w", encoding="utf-8") as handle:
                for entry in self._entries.values():
                    handle.write(json.dumps(asdict(entry), ensure_ascii=False) + "\n")
            for language, shard in self._shards.items():
                info = {
                    "encoders": list(shard.encoder_names),
                    "question_ids": shard.question_ids,
                    "entry_number": shard.entry_number,
                    "question_text": {str(k): v for k, v in shard.question_text.items()},
                    "dims": {n: shard.questions[n].dim for n in shard.encoder_names},
                    "tuned": shard.tuned_paths,
                    "thresholds": shard.thresholds.to_dict() if shard.thresholds is not None else None,
                }
                manifest["shards"][language] = info  # type: ignore[index]
                for name in shard.encoder_names:
                    shard.questions[name].save(path / f"{language}.{name}.questions.npz")
                    extra = shard.extra_vectors[name]
                    keys = np.fromiter(extra.keys(), dtype=np.int64, count=len(extra))
                    rows = np.stack([extra[int(k)] for k in keys]) if len(keys) else np.zeros((0, 1), np.float32)
                    np.savez(path / f"{language}.{name}.extra.npz", ids=keys, vectors=rows)
                    hubness = shard.hubness[name]
                    np.savez(
                        path / f"{language}.{name}.hubness.npz",
                        ids=np.fromiter(hubness.keys(), dtype=np.int64, count=len(hubness)),
                        values=np.fromiter(hubness.values(), dtype=np.float32, count=len(hubness)),
                    )
                if shard.head is not None:
                    shard.head.save(path / f"{language}.head.npz")
            manifest["next_question_id"] = self._next_question_id
            manifest["next_entry_number"] = self._next_entry_number
        (path / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(
        cls,
        directory: str | Path,
        settings: RetrievalSettings | None = None,
        encoders: Mapping[str, Encoder] | None = None,
    ) -> HybridRetriever:
        """Rebuild a retriever saved by `save`; raises IndexMismatch if the settings now name other encoders."""
        path = Path(directory)
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT_VERSION:
            raise IndexMismatch(f"unsupported index format {manifest.get('format')!r}")
        retriever = cls(settings, encoders)
        if manifest.get("precision", "fp32") != _precision(retriever.settings):
            raise IndexMismatch(f"index vectors are {manifest.get('precision', 'fp32')}, the encoders now give others")
        entries = {}
        with (path / ENTRIES).open(encoding="utf-8") as handle:
            for line in handle:
                data = json.loads(line)
                data["questions"] = tuple(data["questions"])
                entries[data["entry_id"]] = IndexedEntry(**data)
        for language, info in manifest["shards"].items():
            names = tuple(info["encoders"])
            if names != retriever.settings.encoders_for(language):
                raise IndexMismatch(
                    f"index for {language!r} was built with {names}, settings name "
                    f"{retriever.settings.encoders_for(language)}"
                )
            shard = _Shard(
                language, names, info["dims"], retriever.settings.dense_index, retriever.settings.tuning_for(language)
            )
            retriever._shards[language] = shard
            shard.question_ids = {e: list(ids) for e, ids in info["question_ids"].items()}
            shard.entry_number = {e: int(n) for e, n in info["entry_number"].items()}
            shard.entry_of_number = {n: e for e, n in shard.entry_number.items()}
            shard.question_text = {int(k): v for k, v in info["question_text"].items()}
            shard.question_entry = {q: e for e, ids in shard.question_ids.items() for q in ids}
            for name, model_dir in info.get("tuned", {}).items():
                # The vectors came from this fine-tuned model; without it they cannot be searched.
                if not Path(model_dir).is_dir():
                    raise IndexMismatch(f"fine-tuned model {model_dir} for {language!r} is gone")
                shard.tuned[name] = retriever._tuned_encoder(Path(model_dir))
                shard.tuned_paths[name] = str(model_dir)
            for name in names:
                shard.questions[name] = DenseIndex.load(
                    path / f"{language}.{name}.questions.npz", kind=retriever.settings.dense_index
                )
                with np.load(path / f"{language}.{name}.extra.npz", allow_pickle=False) as data:
                    shard.extra_vectors[name] = {
                        int(k): row for k, row in zip(data["ids"], data["vectors"], strict=True)
                    }
                hubness_path = path / f"{language}.{name}.hubness.npz"
                if hubness_path.exists():
                    with np.load(hubness_path, allow_pickle=False) as data:
                        shard.hubness[name] = dict(zip(data["ids"].tolist(), data["values"].tolist(), strict=True))
            for entry_id, number in shard.entry_number.items():
                entry = entries[entry_id]
                ids = shard.question_ids[entry_id]
                for name in names:
                    rows = shard.questions[name].vectors(ids)
                    extra = shard.extra_vectors[name].get(number)
                    if extra is not None:
                        rows = np.vstack([rows, extra[None, :]])
                    if len(rows):
                        shard.centroids[name].add([number], normalise_rows(rows.mean(axis=0)))
                _, extra_text = retriever._entry_texts(entry)
                shard.index_terms(number, [*[shard.question_text[q] for q in ids], extra_text, entry.category])
            if info.get("thresholds"):
                shard.thresholds = Thresholds.from_dict(info["thresholds"])
            head_path = path / f"{language}.head.npz"
            if head_path.exists():
                shard.head = LinearHead.load(head_path)
                shard.head_column = {e: i for i, e in enumerate(shard.head.entry_ids)}
        retriever._entries = entries
        retriever._next_question_id = int(manifest["next_question_id"])
        retriever._next_entry_number = int(manifest["next_entry_number"])
        return retriever
