"""The knowledge base as the front door runs it: the editors' store and the search index, kept in step.

Owns `KBSettings` and `KnowledgeBaseService`. On start it loads the persisted index (under the var dir) and
reconciles it with the store: entries whose content differs are re-encoded, missing ones added, stale ones removed,
so a restart after edits costs only the edits. Publishing, editing, archiving and restoring apply one `upsert` or
`remove` (no full rebuild, no Rasa retraining), persist the index a moment later, and announce
`{"type": "kb_changed", "entry_id", "version"}` on the bus topic `kb` so every other process applies the change from
the store (kb.live listens; a periodic version check catches anything the bus lost).

The bot's actions see exactly two things: `search(query, language) -> KBResult` and `record(feedback)`. Encoding runs
in this service's worker threads, never on the event loop. Must never decide what the bot says (the actions do) and
never read the environment (`KBSettings.from_config` is handed the front door's `Settings.kb`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import shutil
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

import faiss

from backends.bus import EventBus
from backends.sql import Database
from backends.tasks import cancel_and_wait
from kb.abstention import Thresholds
from kb.constants import (
    INDEX_POINTER_FILE,
    KB_BUS_TOPIC,
    KB_CHANGED_EVENT,
    KB_THRESHOLDS_EVENT,
    MAX_PARAPHRASES,
    MAX_QUERY_CHARS,
    PERSIST_DELAY_S,
    STARTER_CACHE_S,
    STARTER_MAX_QUESTIONS,
    TRANSCRIPT_LOOKBACK_MESSAGES,
    UNANSWERED_GROUP_COSINE,
    VERSION_CHECK_INTERVAL_S,
)
from kb.decision import Decision, KBResult
from kb.encoders import Encoder
from kb.evidence import read_decisions
from kb.exceptions import IndexMismatch
from kb.feedback import FeedbackCounts, FeedbackLike, KBFeedbackStore
from kb.finetune import FineTuneSettings
from kb.io import FileFormat, ImportProblem, ImportRecord, read_entries, write_entries
from kb.language import SUPPORTED_LANGUAGES
from kb.overrides import ThresholdOverrides
from kb.proposal import CalibrationReport, build_report
from kb.retrieval import HybridRetriever, IndexedEntry
from kb.settings import CalibrationSettings, KBConfig, RetrievalSettings
from kb.starters import answer_counts, pick_starters
from kb.store import (
    EntryDiff,
    EntryDraft,
    EntryNotFound,
    EntryStatus,
    FAQEntry,
    FAQStore,
    Revision,
    RevisionAction,
    StoreError,
    StoreState,
)
from kb.unanswered import (
    TranscriptMessage,
    UnansweredGroup,
    UnansweredReason,
    UnansweredState,
    UnansweredStore,
    clarify_before_handoff,
    group_questions,
    normalise_question,
)
from record import ServiceRecord

log = logging.getLogger(__name__)

STARTER_FAQ = Path(__file__).parent / "demo" / "starter_faq.yml"
_BUILD_BATCH = 32
T = TypeVar("T")


class ImportFailed(StoreError):
    """An import had bad rows; nothing was written. `problems` says which and why."""

    def __init__(self, problems: Sequence[ImportProblem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the file; nothing was imported")
        self.problems = list(problems)


class TranscriptReader(Protocol):
    """conversations.store.ConversationStore, as far as the unanswered-question log needs it."""

    async def recent(self, conversation_id: str, limit: int) -> Sequence[TranscriptMessage]: ...


@dataclass(frozen=True)
class KBSettings:
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    index_dir: Path | None = None  # None: the index lives in memory only and is rebuilt from the store on start
    seed_demo: bool = True  # fill an empty store with the starter FAQ (published)
    preload: bool = False  # build the index when the app starts (in the background) rather than on first use
    version_check_s: float = VERSION_CHECK_INTERVAL_S
    persist_delay_s: float = PERSIST_DELAY_S
    group_threshold: float = UNANSWERED_GROUP_COSINE
    worker_threads: int = 2
    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)

    @classmethod
    def from_config(cls, config: KBConfig, var_dir: Path) -> KBSettings:
        """The service's settings from the `FD_KB_*` variables; models and indexes live under `var_dir`."""
        retrieval = RetrievalSettings(
            encoders={"en": config.encoders_en, "zh": config.encoders_zh},
            encoder_paths={"minilm": config.minilm_path} if config.minilm_path else {},
            encoder_runtime=config.encoder_runtime,
            encoder_threads=config.encoder_threads,
            onnx_dir=str(var_dir / "kb-onnx"),
            train_head=config.adapt,
            fine_tune=FineTuneSettings() if config.fine_tune else None,
            fine_tune_dir=str(var_dir / "kb-models"),
            # Edits come one at a time in the editor; retraining the head after a quiet spell keeps it current.
            adapt_in_background=True,
        )
        return cls(
            retrieval=retrieval,
            index_dir=var_dir / "kb-index",
            seed_demo=config.seed_demo,
            preload=config.preload,
            version_check_s=config.version_check_s,
            group_threshold=config.group_threshold,
            calibration=CalibrationSettings(
                days=config.calibration_days,
                min_labelled=config.calibration_min_labelled,
                handoff_window_s=config.calibration_handoff_window_s,
            ),
        )


@dataclass(frozen=True)
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "ids": {"created": self.created, "updated": self.updated},
        }


@dataclass
class LiveStats:
    """What live updates did in this process: tests and the editor's status line read it."""

    events_applied: int = 0
    reconciles: int = 0
    last_event_lag_s: float | None = None


class QuietSearch:
    """The service's lookup without the unanswered-question log: for staff tools (the agent console), whose lookups
    are not customers' questions."""

    def __init__(self, service: KnowledgeBaseService) -> None:
        self._service = service

    async def search(self, query: str, language: str) -> KBResult:
        return await self._service.lookup(query, language)


class KnowledgeBaseService:
    def __init__(
        self,
        db: Database,
        settings: KBSettings | None = None,
        *,
        bus: EventBus | None = None,
        encoders: Mapping[str, Encoder] | None = None,
        transcripts: TranscriptReader | None = None,
        clock: Callable[[], float] = time.time,
        seed_path: Path = STARTER_FAQ,
    ) -> None:
        self.settings = settings or KBSettings()
        self.store = FAQStore(db, clock)
        self.unanswered = UnansweredStore(db, clock)
        self.feedback = KBFeedbackStore(db)
        self.overrides = ThresholdOverrides(db, clock)
        self.bus = bus
        self.instance_id = secrets.token_hex(6)
        self.live = LiveStats()
        self._encoders = dict(encoders or {})
        self._transcripts = transcripts
        self._clock = clock
        self._seed_path = seed_path
        self._retriever: HybridRetriever | None = None
        # OpenMP's thread count is per thread: workers adopt whatever the process entry point chose for faiss.
        self._executor = ThreadPoolExecutor(
            max_workers=self.settings.worker_threads,
            thread_name_prefix="kb",
            initializer=faiss.omp_set_num_threads,
            initargs=(faiss.omp_get_max_threads(),),
        )
        self._index_lock = asyncio.Lock()
        self._warm_task: asyncio.Task[None] | None = None
        self._persist_task: asyncio.Task[None] | None = None
        self._applied: StoreState | None = None
        self._saved_checksum = ""
        self._dirty = False
        self._closed = False
        self._ready = False
        self._missed = False
        self._starters: dict[str, tuple[float, list[str]]] = {}  # language -> (fresh until, questions)

    # ----- lifecycle -----
    async def start(self) -> None:
        """Seed an empty store and (with `preload`) start building the index in the background.

        The tables must exist: the front door upgrades the schema (`migrations.upgrade_database`) before this runs."""
        if self.settings.seed_demo and await self.store.count() == 0:
            try:
                await self.seed()
            except Exception:
                # Most likely another replica seeding at the same moment (duplicate ids); the index follows the store
                # either way, and a start-up must not fail over demo data.
                log.warning("seeding the starter FAQ failed", exc_info=True)
        if self.settings.preload:
            self._start_warming()

    async def seed(self) -> ImportReport:
        text = await asyncio.to_thread(self._seed_path.read_text, encoding="utf-8")
        return await self.import_text(text, FileFormat.YAML, "system", default_status=EntryStatus.PUBLISHED)

    @property
    def ready(self) -> bool:
        return self._ready

    async def wait_ready(self) -> None:
        """Build (or load) the index if that has not happened yet, and wait for it."""
        task = self._start_warming()
        await asyncio.shield(task)

    def warm_up(self) -> None:
        """Start building (or loading) the index in the background if nothing has yet; returns at once."""
        self._start_warming()

    def _start_warming(self) -> asyncio.Task[None]:
        failed = self._warm_task is not None and self._warm_task.done() and not self._ready
        if self._warm_task is None or failed:
            self._warm_task = asyncio.create_task(self._warm(), name="kb-warm")
        return self._warm_task

    async def close(self) -> None:
        self._closed = True
        with contextlib.suppress(Exception):  # a failed warm-up or persist was logged when it happened
            await cancel_and_wait(*(task for task in (self._warm_task, self._persist_task) if task is not None))
        if self._dirty and self.ready:
            with contextlib.suppress(Exception):
                await self._persist_now()
        if self._retriever is not None:
            self._retriever.close()
        # A build step still running in a worker finishes on its own; closing must not wait for an encoder.
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(fn, *args))

    async def _warm(self) -> None:
        loaded = await self._run(self._load_index) if self.settings.index_dir else None
        if loaded is not None:
            self._retriever, self._saved_checksum = loaded
        else:
            self._retriever = HybridRetriever(self.settings.retrieval, self._encoders)
        loop = asyncio.get_running_loop()
        self._retriever.on_fine_tuned = lambda: loop.call_soon_threadsafe(self._schedule_persist)
        await self.reconcile(initial=True)
        await self.refresh_thresholds()
        self._ready = True
        retrieval = self.settings.retrieval
        if retrieval.train_head and retrieval.adapt_in_background and retrieval.fine_tune is not None:
            # A saved index may predate the last fine-tuning (or have none): catch up in the background.
            self._retriever.schedule_adaptation()
        if self._missed:
            # A change announced while we were building may have committed after the build read the store.
            self._missed = False
            await self.reconcile()

    # ----- keeping the index in step with the store -----
    async def reconcile(self, *, initial: bool = False) -> int:
        """Make the index hold exactly the published entries; returns how many entries changed in it."""
        retriever = self._retriever
        if retriever is None:
            return 0
        async with self._index_lock:
            state = await self.store.state()
            desired = {e.id: e.to_indexed() for e in await self.store.published()}
            current = {e.entry_id: e for e in retriever.entries()}
            stale = [entry for entry_id, entry in desired.items() if current.get(entry_id) != entry]
            gone = [entry_id for entry_id in current if entry_id not in desired]
            for start in range(0, len(stale), _BUILD_BATCH):
                # Batches keep a shutdown from waiting on a whole rebuild.
                await self._run(retriever.upsert_many, stale[start : start + _BUILD_BATCH])
            for entry_id in gone:
                await self._run(retriever.remove, entry_id)
            changed = len(stale) + len(gone)
            retrieval = self.settings.retrieval
            if changed and retrieval.train_head and (initial or not retrieval.adapt_in_background):
                await self._run(retriever.adapt)
            self._applied = state
            self.live.reconciles += 1
        if changed:
            log.info("knowledge base index: %d entries re-indexed, %d removed", len(stale), len(gone))
        if changed or state.checksum != self._saved_checksum:
            self._schedule_persist()
        return changed

    async def apply_entry(self, entry_id: str) -> bool:
        """Bring one entry of the index in line with the store; True when the index changed."""
        retriever = self._retriever
        if retriever is None or not self.ready:
            self._missed = True
            return False
        async with self._index_lock:
            entry = await self.store.find(entry_id)
            wanted = entry.to_indexed() if entry is not None and entry.status is EntryStatus.PUBLISHED else None
            if wanted == retriever.get(entry_id):
                return False
            if wanted is not None:
                await self._run(retriever.upsert, wanted)
                if self.settings.retrieval.train_head and not self.settings.retrieval.adapt_in_background:
                    await self._run(retriever.adapt)
            else:
                await self._run(retriever.remove, entry_id)
        self._schedule_persist()
        return True

    async def check_version(self) -> bool:
        """The safety net: reconcile when the store moved on without us hearing of it. True when it did."""
        if not self.ready:
            return False
        await self.refresh_thresholds()  # one small read: an applied pair whose announcement was lost
        state = await self.store.state()
        applied = self._applied
        if applied is not None and (applied.revision, applied.checksum) == (state.revision, state.checksum):
            return False
        await self.reconcile()
        return True

    async def apply_event(self, event: Mapping[str, Any]) -> bool:
        """Apply a `kb_changed` or `kb_thresholds` event from the bus (ours are already applied)."""
        if event.get("type") not in (KB_CHANGED_EVENT, KB_THRESHOLDS_EVENT) or event.get("origin") == self.instance_id:
            return False
        if event.get("type") == KB_THRESHOLDS_EVENT:
            await self.refresh_thresholds()
            self.live.events_applied += 1
            return True
        at = event.get("at")
        if isinstance(at, int | float):
            self.live.last_event_lag_s = max(0.0, self._clock() - float(at))
        entry_id = event.get("entry_id")
        changed = await self.apply_entry(str(entry_id)) if entry_id else await self.reconcile() > 0
        self.live.events_applied += 1
        return changed

    async def _announce(self, entry_id: str | None, version: int, kind: str = KB_CHANGED_EVENT) -> None:
        if self.bus is None:
            return
        event = {
            "type": kind,
            "entry_id": entry_id,
            "version": version,
            "origin": self.instance_id,
            "at": self._clock(),
        }
        try:
            await self.bus.publish(KB_BUS_TOPIC, event)
        except Exception:
            # The periodic version check still brings other processes up to date.
            log.exception("could not announce a knowledge-base change")

    async def _changed(self, entry: FAQEntry) -> FAQEntry:
        await self._announce(entry.id, entry.version)
        await self.apply_entry(entry.id)
        return entry

    # ----- persistence of the index -----
    def _schedule_persist(self) -> None:
        self._dirty = True
        if self.settings.index_dir is None or self._closed:
            return
        if self._persist_task is None or self._persist_task.done():
            self._persist_task = asyncio.create_task(self._persist_later(), name="kb-persist")

    async def _persist_later(self) -> None:
        await asyncio.sleep(self.settings.persist_delay_s)
        await self._persist_now()

    async def _persist_now(self) -> None:
        retriever, state = self._retriever, self._applied
        if retriever is None or state is None or self.settings.index_dir is None:
            return
        self._dirty = False
        try:
            await self._run(self._save_index, retriever, state)
            self._saved_checksum = state.checksum
        except Exception:
            self._dirty = True
            log.exception("could not save the knowledge-base index")

    def _save_index(self, retriever: HybridRetriever, state: StoreState) -> None:
        root = self.settings.index_dir
        assert root is not None
        root.mkdir(parents=True, exist_ok=True)
        name = f"r{state.revision}-{secrets.token_hex(4)}"
        retriever.save(root / name)
        pointer = {
            "dir": name,
            "revision": state.revision,
            "checksum": state.checksum,
            "encoders": {k: list(v) for k, v in self.settings.retrieval.encoders.items()},
        }
        # Several processes may share the var dir: write elsewhere, then swap the pointer atomically.
        temporary = root / f".{name}.json"
        temporary.write_text(json.dumps(pointer), encoding="utf-8")
        os.replace(temporary, root / INDEX_POINTER_FILE)
        cutoff = time.time() - 60
        for child in root.iterdir():
            if child.is_dir() and child.name != name and child.stat().st_mtime < cutoff:
                shutil.rmtree(child, ignore_errors=True)

    def _load_index(self) -> tuple[HybridRetriever, str] | None:
        root = self.settings.index_dir
        if root is None or not (root / INDEX_POINTER_FILE).exists():
            return None
        try:
            pointer = json.loads((root / INDEX_POINTER_FILE).read_text(encoding="utf-8"))
            retriever = HybridRetriever.load(root / str(pointer["dir"]), self.settings.retrieval, self._encoders)
            return retriever, str(pointer["checksum"])
        except (OSError, ValueError, KeyError, TypeError, IndexMismatch) as exc:
            log.warning("rebuilding the knowledge-base index: the saved one is unusable (%s)", exc)
            return None

    # ----- what the bot's actions call -----
    async def search(self, query: str, language: str) -> KBResult:
        """Look `query` up for a customer; a not_found outcome is kept for editors as an unanswered question."""
        result = await self.lookup(query, language)
        if result.decision is Decision.NOT_FOUND:
            try:
                await self.unanswered.record(
                    query, result.language, UnansweredReason.NOT_FOUND, confidence=result.confidence
                )
            except Exception:
                log.exception("could not record an unanswered question")
        return result

    async def record(self, feedback: FeedbackLike) -> None:
        """A 'was this helpful?' click; a 'no' also lands in the unanswered questions."""
        await self.feedback.record(feedback)
        if not feedback.helpful and feedback.query:
            await self.unanswered.record(
                feedback.query,
                feedback.language,
                UnansweredReason.UNHELPFUL,
                conversation_id=feedback.conversation_id,
                entry_id=feedback.entry_id,
                confidence=feedback.confidence,
            )

    async def note_handoff(self, conversation_id: str) -> bool:
        """A conversation went to a human: if the bot's last lookup was a clarify question, keep it as unanswered."""
        if self._transcripts is None or not conversation_id:
            return False
        messages = await self._transcripts.recent(conversation_id, TRANSCRIPT_LOOKBACK_MESSAGES)
        result = clarify_before_handoff(messages)
        if result is None:
            return False
        return await self.unanswered.record(
            str(result["query"]),
            str(result.get("language") or "en"),
            UnansweredReason.CLARIFY_HANDOFF,
            conversation_id=conversation_id,
            confidence=float(result.get("confidence") or 0.0),
        )

    # ----- thresholds from the record (the calibration report) -----
    async def refresh_thresholds(self) -> None:
        """Serve the thresholds editors applied (SQL), over each language's own fit."""
        if self._retriever is not None:
            self._retriever.set_overrides(await self.overrides.all())

    async def thresholds(self, *, fitted: bool = False) -> dict[str, Thresholds]:
        """Language → the thresholds in force (`fitted`: the KB's own fit, leaving applied ones out)."""
        await self.wait_ready()
        assert self._retriever is not None
        return self._retriever.thresholds(fitted=fitted)

    async def calibration_report(self, record: ServiceRecord, language: str, now: float) -> CalibrationReport:
        """What the record's last `calibration.days` of decisions in `language` say about its thresholds."""
        settings = self.settings.calibration
        in_force = await self._in_force(language)
        decisions = await read_decisions(record, now - settings.days * 86400.0, settings)
        mine = [d for d in decisions if d.language == language]
        return build_report(language, mine, in_force, self.settings.retrieval, settings)

    async def starter_questions(self, record: ServiceRecord, language: str, limit: int) -> list[str]:
        """Up to `limit` (1 to STARTER_MAX_QUESTIONS) published questions in `language` (en/zh) to offer a new chat
        (`kb.starters`), reused for STARTER_CACHE_S seconds. Raises ValueError for another language or limit."""
        if language not in SUPPORTED_LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(SUPPORTED_LANGUAGES)}")
        if not 1 <= limit <= STARTER_MAX_QUESTIONS:
            raise ValueError(f"limit must be 1..{STARTER_MAX_QUESTIONS}")
        now = self._clock()
        cached = self._starters.get(language)
        if cached is None or cached[0] <= now:
            answered = await answer_counts(record, language, now)
            questions = pick_starters(await self.store.published(language), answered, STARTER_MAX_QUESTIONS)
            cached = (now + STARTER_CACHE_S, questions)
            self._starters[language] = cached
        return cached[1][:limit]

    async def apply_thresholds(
        self, language: str, answer: object, clarify: object, author: str, basis: Mapping[str, Any]
    ) -> tuple[Thresholds, Thresholds]:
        """Put (answer, clarify) in force for `language` here and, through the bus and SQL, on every replica.
        Returns (before, after). Raises kb.exceptions.InvalidThresholds for a pair that may not be applied."""
        before = await self._in_force(language)
        after = await self.overrides.set(language, answer, clarify, author, basis)
        await self._thresholds_changed()
        return before, after

    async def reset_thresholds(self, language: str) -> tuple[Thresholds, Thresholds] | None:
        """Back to the KB's own fit for `language`: (before, after), or None when none was applied."""
        before = await self._in_force(language)
        if not await self.overrides.clear(language):
            return None
        await self._thresholds_changed()
        return before, await self._in_force(language)

    async def _in_force(self, language: str) -> Thresholds:
        # A language without entries decides nothing; its configured pair stands for it.
        in_force = (await self.thresholds()).get(language)
        if in_force is None:
            tuning = self.settings.retrieval.tuning_for(language)
            in_force = Thresholds(tuning.answer_threshold, tuning.clarify_threshold, "fixed")
        return in_force

    async def _thresholds_changed(self) -> None:
        await self.refresh_thresholds()
        await self._announce(None, await self.store.revision(), KB_THRESHOLDS_EVENT)

    # ----- what the editor calls -----
    async def lookup(self, query: str, language: str | None = None) -> KBResult:
        """A lookup that records nothing: the editor's 'try it' box."""
        await self.wait_ready()
        retriever = self._retriever
        assert retriever is not None
        text = " ".join(query.split())[:MAX_QUERY_CHARS]
        return await self._run(retriever.search, text, language or None)

    async def status(self) -> dict[str, Any]:
        state = await self.store.state()
        retriever = self._retriever
        return {
            "ready": self.ready,
            "indexed": len(retriever) if retriever is not None else 0,
            "published": state.published,
            "revision": state.revision,
            "applied_revision": self._applied.revision if self._applied else None,
            "live": {"events_applied": self.live.events_applied, "last_event_lag_s": self.live.last_event_lag_s},
        }

    async def create(self, draft: EntryDraft, author: str, *, publish: bool = False) -> FAQEntry:
        status = EntryStatus.PUBLISHED if publish else EntryStatus.DRAFT
        return await self._changed(await self.store.create(draft, author, status=status))

    async def update(
        self,
        entry_id: str,
        draft: EntryDraft,
        author: str,
        *,
        expected_version: int | None = None,
        status: EntryStatus | None = None,
    ) -> FAQEntry:
        entry = await self.store.update(entry_id, draft, author, expected_version=expected_version, status=status)
        return await self._changed(entry)

    async def set_status(
        self, entry_id: str, status: EntryStatus, author: str, *, expected_version: int | None = None
    ) -> FAQEntry:
        entry = await self.store.set_status(entry_id, status, author, expected_version=expected_version)
        return await self._changed(entry)

    async def restore(
        self, entry_id: str, version: int, author: str, *, expected_version: int | None = None
    ) -> FAQEntry:
        entry = await self.store.restore(entry_id, version, author, expected_version=expected_version)
        return await self._changed(entry)

    async def get(self, entry_id: str) -> FAQEntry:
        return await self.store.get(entry_id)

    async def revisions(self, entry_id: str) -> list[Revision]:
        return await self.store.revisions(entry_id)

    async def diff(self, entry_id: str, from_version: int, to_version: int) -> EntryDiff:
        return await self.store.diff(entry_id, from_version, to_version)

    async def feedback_counts(self, entry_ids: list[str]) -> dict[str, FeedbackCounts]:
        return await self.feedback.counts(entry_ids)

    async def export(
        self, file_format: FileFormat, status: EntryStatus | None = None, language: str | None = None
    ) -> str:
        entries, _ = await self.store.list_entries(status=status, language=language, limit=1_000_000)
        entries.sort(key=lambda e: (e.language, e.category, e.id))
        return write_entries(entries, file_format)

    async def import_text(
        self,
        text: str,
        file_format: FileFormat,
        author: str,
        *,
        default_status: EntryStatus = EntryStatus.DRAFT,
    ) -> ImportReport:
        """Create or update entries from a CSV/YAML file: all rows are checked first, and any problem means none is
        written. A row with a known id updates that entry (its status too, when the row gives one)."""
        records, problems = read_entries(text, file_format)
        if problems:
            raise ImportFailed(problems)
        if not records:
            raise ImportFailed([ImportProblem(0, "the file holds no entries")])
        report = ImportReport()
        for record in records:
            await self._import_one(record, author, default_status, report)
        if report.created or report.updated:
            revision = await self.store.revision()
            await self._announce(None, revision)
            if self.ready:
                await self.reconcile()
        return report

    async def _import_one(
        self, record: ImportRecord, author: str, default_status: EntryStatus, report: ImportReport
    ) -> None:
        existing = await self.store.find(record.entry_id) if record.entry_id else None
        if existing is None:
            entry = await self.store.create(
                record.draft,
                author,
                status=record.status or default_status,
                entry_id=record.entry_id or None,
                action=RevisionAction.IMPORTED,
            )
            report.created.append(entry.id)
            return
        entry = await self.store.update(
            existing.id, record.draft, author, status=record.status, action=RevisionAction.IMPORTED
        )
        (report.updated if entry.version != existing.version else report.unchanged).append(entry.id)

    # ----- unanswered questions -----
    async def unanswered_groups(self, language: str | None = None) -> list[UnansweredGroup]:
        items = await self.unanswered.open_items(language)
        if not items:
            return []
        await self.wait_ready()
        retriever = self._retriever
        assert retriever is not None
        settings = self.settings.retrieval

        def vectors_for(texts: list[str]) -> Any:
            # One language per call; that language's first encoder is the one that knows it best.
            language_of = {i.query: i.language for i in items}
            name = settings.encoders_for(language_of.get(texts[0], settings.default_language))[0]
            return retriever.encoder(name).encode(texts)

        return await self._run(group_questions, items, vectors_for, self.settings.group_threshold)

    async def draft_from_unanswered(self, ids: Sequence[str], author: str) -> FAQEntry:
        """One click in the editor: a draft entry whose questions are the group's wordings."""
        items = await self.unanswered.get_many(ids)
        if not items:
            raise EntryNotFound("none of those unanswered questions exist")
        wordings = Counter(normalise_question(i.query) for i in items)
        first_of: dict[str, str] = {}
        for item in items:
            first_of.setdefault(normalise_question(item.query), item.query)
        ordered = [first_of[key] for key, _ in wordings.most_common()]
        language = Counter(i.language for i in items).most_common(1)[0][0]
        draft = EntryDraft(
            question=ordered[0],
            answer="",
            language=language if language in ("en", "zh") else "en",
            category="general",
            paraphrases=tuple(ordered[1 : MAX_PARAPHRASES + 1]),
            tags=("from-unanswered",),
        )
        entry = await self.store.create(draft, author, note=f"from {len(items)} unanswered question(s)")
        await self.unanswered.close([i.id for i in items], UnansweredState.DRAFTED, entry.id)
        return entry

    async def create_draft(self, question: str, answer: str, language: str, *, author: str, source: str) -> str:
        """An agent's resolution, saved from the console as a draft entry for an editor to review; its id."""
        draft = EntryDraft(
            question=question,
            answer=answer,
            language=language if language in ("en", "zh") else "en",
            tags=("from-console",),
        )
        entry = await self.store.create(draft, author, note=f"from conversation {source}"[:200])
        return entry.id

    async def dismiss_unanswered(self, ids: Sequence[str]) -> int:
        return await self.unanswered.close(ids, UnansweredState.DISMISSED)

    # ----- for tests and tools -----
    def indexed(self, entry_id: str) -> IndexedEntry | None:
        return self._retriever.get(entry_id) if self._retriever is not None else None
