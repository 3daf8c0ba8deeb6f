"""The FAQ knowledge base as editors keep it: entries, their revisions, and a store-wide change counter.

Owns `FAQEntry`, `EntryDraft`, `EntryStatus`, `Revision`, `EntryDiff` and `FAQStore` over `backends.sql.Database`
(SQLite or PostgreSQL, SQLAlchemy Core over `kb.tables`). Every change writes a new entry version and a full
snapshot of it as a revision, in one transaction that also bumps the store revision, so the search index can tell
whether it is current. Must never touch the search index or the bus: `kb.service.KnowledgeBaseService` does that
after a change commits.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, func, insert, or_, select, update

from backends.sql import SQL, Database, Row, upsert
from conversations.text import InvalidText, checked_text
from kb.constants import (
    MAX_ANSWER_CHARS,
    MAX_CATEGORY_CHARS,
    MAX_ENTRY_ID_CHARS,
    MAX_PARAPHRASES,
    MAX_QUESTION_CHARS,
    MAX_TAG_CHARS,
    MAX_TAGS,
)
from kb.exceptions import KBError
from kb.language import SUPPORTED_LANGUAGES
from kb.retrieval import IndexedEntry
from kb.tables import kb_entries, kb_meta, kb_revisions

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_REVISION_KEY = "revision"
_REVISION = select(kb_meta.c.value).where(kb_meta.c.key == _REVISION_KEY)


class StoreError(KBError):
    """Base of the FAQ store's errors (the editor maps them to 4xx)."""


class InvalidEntry(StoreError):
    """An entry (or an import row) breaks a rule; the message says which, for the editor."""


class EntryNotFound(StoreError):
    """No entry (or no such revision of it)."""


class VersionConflict(StoreError):
    """Someone else changed the entry since the editor loaded it."""

    def __init__(self, entry_id: str, expected: int, actual: int) -> None:
        super().__init__(f"entry {entry_id} is at version {actual}, not {expected}: reload it and try again")
        self.entry_id = entry_id
        self.expected = expected
        self.actual = actual


class EntryStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class RevisionAction(StrEnum):
    CREATED = "created"
    EDITED = "edited"
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"
    ARCHIVED = "archived"
    RESTORED = "restored"
    IMPORTED = "imported"


def _clean_lines(values: Iterable[str]) -> tuple[str, ...]:
    """Strip, drop empties and repeats (case-insensitively), keep order."""
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        text = " ".join(str(value).split())
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            out.append(text)
    return tuple(out)


@dataclass(frozen=True)
class EntryDraft:
    """What an editor writes: everything of an entry except its identity, status and history."""

    question: str
    answer: str
    language: str
    category: str = "general"
    paraphrases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def normalised(self) -> EntryDraft:
        """Whitespace collapsed in one-line fields, duplicate paraphrases and tags dropped; raises InvalidEntry."""
        question = " ".join(self.question.split())
        paraphrases = tuple(p for p in _clean_lines(self.paraphrases) if p.casefold() != question.casefold())
        tags = _clean_lines(t.lower() for t in self.tags)
        category = " ".join(self.category.split()).lower() or "general"
        answer = self.answer.replace("\r\n", "\n").strip()
        draft = EntryDraft(question, answer, self.language.strip().lower(), category, paraphrases, tags)
        draft.validate()
        return draft

    def validate(self) -> None:
        if not self.question:
            raise InvalidEntry("question must not be empty")
        if len(self.question) > MAX_QUESTION_CHARS:
            raise InvalidEntry(f"question is longer than {MAX_QUESTION_CHARS} characters")
        if self.language not in SUPPORTED_LANGUAGES:
            raise InvalidEntry(f"language must be one of {', '.join(SUPPORTED_LANGUAGES)}")
        if len(self.answer) > MAX_ANSWER_CHARS:
            raise InvalidEntry(f"answer is longer than {MAX_ANSWER_CHARS} characters")
        if len(self.paraphrases) > MAX_PARAPHRASES:
            raise InvalidEntry(f"at most {MAX_PARAPHRASES} paraphrases")
        for paraphrase in self.paraphrases:
            if len(paraphrase) > MAX_QUESTION_CHARS:
                raise InvalidEntry(f"paraphrase is longer than {MAX_QUESTION_CHARS} characters: {paraphrase[:40]}…")
        if len(self.category) > MAX_CATEGORY_CHARS:
            raise InvalidEntry(f"category is longer than {MAX_CATEGORY_CHARS} characters")
        if len(self.tags) > MAX_TAGS:
            raise InvalidEntry(f"at most {MAX_TAGS} tags")
        for tag in self.tags:
            if len(tag) > MAX_TAG_CHARS or "," in tag:
                raise InvalidEntry(f"tags are at most {MAX_TAG_CHARS} characters, without commas: {tag[:40]}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EntryDraft:
        """From editor JSON or an import row; raises InvalidEntry for wrong types."""

        def text(name: str, max_chars: int, default: str = "") -> str:
            value = data.get(name, default)
            if value is None:
                return default
            try:
                return checked_text(value, max_chars=max_chars, required=False)
            except InvalidText as exc:
                raise InvalidEntry(f"{name} {exc}") from exc

        def lines(name: str, max_chars: int) -> tuple[str, ...]:
            value = data.get(name) or []
            if isinstance(value, str):
                value = value.split("\n")
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InvalidEntry(f"{name} must be a list of strings")
            try:
                return tuple(checked_text(v, max_chars=max_chars, required=False) for v in value)
            except InvalidText as exc:
                raise InvalidEntry(f"{name}: each {exc}") from exc

        return cls(
            question=text("question", MAX_QUESTION_CHARS),
            answer=text("answer", MAX_ANSWER_CHARS),
            language=text("language", max(map(len, SUPPORTED_LANGUAGES)), "en"),
            category=text("category", MAX_CATEGORY_CHARS, "general"),
            paraphrases=lines("paraphrases", MAX_QUESTION_CHARS),
            tags=lines("tags", MAX_TAG_CHARS),
        )


@dataclass(frozen=True)
class FAQEntry:
    id: str
    question: str
    answer: str
    language: str
    category: str
    status: EntryStatus
    version: int
    author: str
    created_at: float
    updated_at: float
    paraphrases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    published_at: float | None = None

    @property
    def questions(self) -> tuple[str, ...]:
        return (self.question, *self.paraphrases)

    @property
    def draft(self) -> EntryDraft:
        return EntryDraft(self.question, self.answer, self.language, self.category, self.paraphrases, self.tags)

    def to_indexed(self) -> IndexedEntry:
        return IndexedEntry(self.id, self.questions, self.answer, self.category, self.language)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "paraphrases": list(self.paraphrases),
            "answer": self.answer,
            "language": self.language,
            "category": self.category,
            "tags": list(self.tags),
            "status": self.status.value,
            "version": self.version,
            "author": self.author,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "published_at": self.published_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FAQEntry:
        return cls(
            id=data["id"],
            question=data["question"],
            answer=data["answer"],
            language=data["language"],
            category=data["category"],
            status=EntryStatus(data["status"]),
            version=int(data["version"]),
            author=data["author"],
            created_at=float(data["created_at"]),
            updated_at=float(data["updated_at"]),
            paraphrases=tuple(data.get("paraphrases", ())),
            tags=tuple(data.get("tags", ())),
            published_at=data.get("published_at"),
        )


def _with_content(current: FAQEntry, source: EntryDraft | FAQEntry) -> FAQEntry:
    """`current` with the editable content (not status, version or authorship) taken from `source`."""
    return replace(
        current,
        question=source.question,
        answer=source.answer,
        language=source.language,
        category=source.category,
        paraphrases=source.paraphrases,
        tags=source.tags,
    )


def _entry(row: Row) -> FAQEntry:
    """A stored row: the lists are JSON text, the rest is as `FAQEntry.from_dict` reads it."""
    published_at = row["published_at"]
    return FAQEntry.from_dict(
        {
            **row,
            "paraphrases": json.loads(row["paraphrases"]),
            "tags": json.loads(row["tags"]),
            "published_at": float(published_at) if published_at is not None else None,
        }
    )


@dataclass(frozen=True)
class Revision:
    entry_id: str
    version: int
    action: RevisionAction
    author: str
    at: float
    note: str
    snapshot: FAQEntry

    def to_dict(self, with_snapshot: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "entry_id": self.entry_id,
            "version": self.version,
            "action": self.action.value,
            "author": self.author,
            "at": self.at,
            "note": self.note,
            "status": self.snapshot.status.value,
        }
        if with_snapshot:
            data["snapshot"] = self.snapshot.to_dict()
        return data


def _revision(row: Row) -> Revision:
    return Revision(
        entry_id=row["entry_id"],
        version=int(row["version"]),
        action=RevisionAction(row["action"]),
        author=row["author"],
        at=float(row["at"]),
        note=row["note"],
        snapshot=FAQEntry.from_dict(json.loads(row["snapshot"])),
    )


@dataclass(frozen=True)
class FieldChange:
    """One field that differs between two revisions; `lines` is a unified diff for text, +/- items for lists."""

    field: str
    before: Any
    after: Any
    lines: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after, "lines": list(self.lines)}


@dataclass(frozen=True)
class EntryDiff:
    entry_id: str
    from_version: int
    to_version: int
    changes: tuple[FieldChange, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry_id": self.entry_id,
            "from": self.from_version,
            "to": self.to_version,
            "changes": [c.to_dict() for c in self.changes],
        }


_DIFFED_FIELDS = ("question", "paraphrases", "answer", "category", "language", "tags", "status")


def diff_entries(before: FAQEntry, after: FAQEntry) -> EntryDiff:
    """What changed between two snapshots of one entry, field by field."""
    changes: list[FieldChange] = []
    for name in _DIFFED_FIELDS:
        old, new = getattr(before, name), getattr(after, name)
        if isinstance(old, EntryStatus):
            old, new = old.value, new.value
        if old == new:
            continue
        if isinstance(old, tuple):
            lines = tuple(f"- {item}" for item in old if item not in new) + tuple(
                f"+ {item}" for item in new if item not in old
            )
            changes.append(FieldChange(name, list(old), list(new), lines))
        elif name == "answer":
            unified = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=2)
            changes.append(FieldChange(name, old, new, tuple(list(unified)[2:])))
        else:
            changes.append(FieldChange(name, old, new, (f"- {old}", f"+ {new}")))
    return EntryDiff(before.id, before.version, after.version, tuple(changes))


@dataclass(frozen=True)
class StoreState:
    """How the published part of the store looks right now: the index compares itself with this."""

    revision: int
    checksum: str
    published: int


def new_entry_id() -> str:
    return f"faq_{secrets.token_hex(6)}"


def check_entry_id(entry_id: str) -> str:
    if not entry_id or len(entry_id) > MAX_ENTRY_ID_CHARS or not _ID.match(entry_id):
        raise InvalidEntry(f"entry id must be 1-{MAX_ENTRY_ID_CHARS} letters, digits, '_', '.' or '-'")
    return entry_id


def _like_pattern(text: str) -> str:
    escaped = text.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class FAQStore:
    """FAQ entries with full revision history, on SQLite or PostgreSQL."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    # ----- reading -----
    async def find(self, entry_id: str) -> FAQEntry | None:
        row = await self._db.fetchrow(select(kb_entries).where(kb_entries.c.id == entry_id))
        return _entry(row) if row else None

    async def get(self, entry_id: str) -> FAQEntry:
        entry = await self.find(entry_id)
        if entry is None:
            raise EntryNotFound(f"no entry {entry_id}")
        return entry

    async def count(self) -> int:
        return int(await self._db.fetchval(select(func.count()).select_from(kb_entries)))

    async def list_entries(
        self,
        *,
        status: EntryStatus | None = None,
        language: str | None = None,
        category: str | None = None,
        text: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> tuple[list[FAQEntry], int]:
        """Entries matching every filter given (text: in question, paraphrases or answer), newest edit first;
        also the total count matching, for paging."""
        where: list[ColumnElement[bool]] = []
        for column, value in (
            (kb_entries.c.status, status.value if status else None),
            (kb_entries.c.language, language),
            (kb_entries.c.category, category),
        ):
            if value:
                where.append(column == value)
        if text and text.strip():
            pattern = _like_pattern(text.strip())
            where.append(
                or_(
                    *(
                        func.lower(column).like(pattern, escape="\\")
                        for column in (kb_entries.c.question, kb_entries.c.paraphrases, kb_entries.c.answer)
                    )
                )
            )
        total = int(await self._db.fetchval(select(func.count()).select_from(kb_entries).where(*where)))
        rows = await self._db.fetch(
            select(kb_entries)
            .where(*where)
            .order_by(kb_entries.c.updated_at.desc(), kb_entries.c.id)
            .limit(limit)
            .offset(offset)
        )
        return [_entry(r) for r in rows], total

    async def published(self, language: str | None = None) -> list[FAQEntry]:
        entries, _ = await self.list_entries(status=EntryStatus.PUBLISHED, language=language, limit=1_000_000)
        return entries

    async def categories(self) -> list[str]:
        rows = await self._db.fetch(select(kb_entries.c.category).distinct().order_by(kb_entries.c.category))
        return [r["category"] for r in rows]

    async def revision(self) -> int:
        """The store-wide change counter: it grows with every committed change."""
        value = await self._db.fetchval(_REVISION)
        return int(value or 0)

    async def state(self) -> StoreState:
        """Revision plus a checksum of what is published (ids and versions), read in one transaction."""
        async with self._db.transaction() as tx:
            revision = await tx.fetchval(_REVISION)
            rows = await tx.fetch(
                select(kb_entries.c.id, kb_entries.c.version)
                .where(kb_entries.c.status == EntryStatus.PUBLISHED.value)
                .order_by(kb_entries.c.id)
            )
        digest = hashlib.sha256()
        for row in rows:
            digest.update(f"{row['id']}\x1f{int(row['version'])}\x1e".encode())
        return StoreState(int(revision or 0), digest.hexdigest(), len(rows))

    async def revisions(self, entry_id: str) -> list[Revision]:
        rows = await self._db.fetch(
            select(kb_revisions).where(kb_revisions.c.entry_id == entry_id).order_by(kb_revisions.c.version.desc())
        )
        if not rows:
            await self.get(entry_id)
        return [_revision(r) for r in rows]

    async def get_revision(self, entry_id: str, version: int) -> Revision:
        row = await self._db.fetchrow(
            select(kb_revisions).where(kb_revisions.c.entry_id == entry_id, kb_revisions.c.version == version)
        )
        if row is None:
            raise EntryNotFound(f"entry {entry_id} has no version {version}")
        return _revision(row)

    async def diff(self, entry_id: str, from_version: int, to_version: int) -> EntryDiff:
        before = await self.get_revision(entry_id, from_version)
        after = await self.get_revision(entry_id, to_version)
        return diff_entries(before.snapshot, after.snapshot)

    # ----- writing -----
    async def create(
        self,
        draft: EntryDraft,
        author: str,
        *,
        status: EntryStatus = EntryStatus.DRAFT,
        entry_id: str | None = None,
        action: RevisionAction = RevisionAction.CREATED,
        note: str = "",
    ) -> FAQEntry:
        clean = draft.normalised()
        if status is EntryStatus.PUBLISHED:
            _check_publishable(clean)
        now = self._clock()
        entry = FAQEntry(
            id=check_entry_id(entry_id) if entry_id else new_entry_id(),
            question=clean.question,
            answer=clean.answer,
            language=clean.language,
            category=clean.category,
            status=status,
            version=1,
            author=author,
            created_at=now,
            updated_at=now,
            paraphrases=clean.paraphrases,
            tags=clean.tags,
            published_at=now if status is EntryStatus.PUBLISHED else None,
        )
        async with self._db.transaction() as tx:
            if await tx.fetchval(select(kb_entries.c.id).where(kb_entries.c.id == entry.id)):
                raise InvalidEntry(f"entry {entry.id} already exists")
            await tx.execute(insert(kb_entries).values(**_columns(entry)))
            await self._record(tx, entry, action, note)
        return entry

    async def update(
        self,
        entry_id: str,
        draft: EntryDraft,
        author: str,
        *,
        expected_version: int | None = None,
        status: EntryStatus | None = None,
        action: RevisionAction = RevisionAction.EDITED,
        note: str = "",
    ) -> FAQEntry:
        """Replace the entry's content (and optionally its status) as a new version; a no-op edit writes nothing."""
        clean = draft.normalised()

        def change(current: FAQEntry) -> FAQEntry:
            return replace(_with_content(current, clean), status=status or current.status)

        return await self._change(entry_id, author, change, action, note, expected_version)

    async def set_status(
        self, entry_id: str, status: EntryStatus, author: str, *, expected_version: int | None = None, note: str = ""
    ) -> FAQEntry:
        action = {
            EntryStatus.PUBLISHED: RevisionAction.PUBLISHED,
            EntryStatus.ARCHIVED: RevisionAction.ARCHIVED,
            EntryStatus.DRAFT: RevisionAction.UNPUBLISHED,
        }[status]
        return await self._change(entry_id, author, lambda e: replace(e, status=status), action, note, expected_version)

    async def publish(self, entry_id: str, author: str, *, expected_version: int | None = None) -> FAQEntry:
        return await self.set_status(entry_id, EntryStatus.PUBLISHED, author, expected_version=expected_version)

    async def archive(self, entry_id: str, author: str, *, expected_version: int | None = None) -> FAQEntry:
        return await self.set_status(entry_id, EntryStatus.ARCHIVED, author, expected_version=expected_version)

    async def restore(
        self, entry_id: str, version: int, author: str, *, expected_version: int | None = None
    ) -> FAQEntry:
        """Bring back an earlier version's content as a new version; the entry keeps its current status."""
        old = (await self.get_revision(entry_id, version)).snapshot

        def change(current: FAQEntry) -> FAQEntry:
            return _with_content(current, old)

        return await self._change(
            entry_id,
            author,
            change,
            RevisionAction.RESTORED,
            f"restored version {version}",
            expected_version,
            force=True,
        )

    async def _change(
        self,
        entry_id: str,
        author: str,
        change: Callable[[FAQEntry], FAQEntry],
        action: RevisionAction,
        note: str,
        expected_version: int | None,
        *,
        force: bool = False,
    ) -> FAQEntry:
        async with self._db.transaction() as tx:
            row = await tx.fetchrow(select(kb_entries).where(kb_entries.c.id == entry_id))
            if row is None:
                raise EntryNotFound(f"no entry {entry_id}")
            current = _entry(row)
            if expected_version is not None and expected_version != current.version:
                raise VersionConflict(entry_id, expected_version, current.version)
            proposed = change(current)
            if proposed == current and not force:
                return current
            if proposed.status is EntryStatus.PUBLISHED:
                _check_publishable(proposed.draft)
            now = self._clock()
            published_at = current.published_at
            if proposed.status is EntryStatus.PUBLISHED and current.status is not EntryStatus.PUBLISHED:
                published_at = now
            entry = replace(
                proposed, version=current.version + 1, author=author, updated_at=now, published_at=published_at
            )
            # The version check above and this guarded UPDATE make concurrent edits of one entry lose cleanly.
            columns = _columns(entry)
            del columns["id"], columns["created_at"]
            changed = await tx.fetchval(
                update(kb_entries)
                .where(kb_entries.c.id == entry_id, kb_entries.c.version == current.version)
                .values(**columns)
                .returning(kb_entries.c.version)
            )
            if changed is None:
                # Another transaction committed a newer version between our read and this write.
                raise VersionConflict(entry_id, current.version, current.version + 1)
            await self._record(tx, entry, action, note)
        return entry

    async def _record(self, tx: SQL, entry: FAQEntry, action: RevisionAction, note: str) -> None:
        await tx.execute(
            insert(kb_revisions).values(
                entry_id=entry.id,
                version=entry.version,
                action=action.value,
                author=entry.author,
                at=entry.updated_at,
                note=note,
                snapshot=json.dumps(entry.to_dict(), ensure_ascii=False),
            )
        )
        await tx.execute(
            upsert(tx, kb_meta)
            .values(key=_REVISION_KEY, value=1)
            .on_conflict_do_update(index_elements=[kb_meta.c.key], set_={"value": kb_meta.c.value + 1})
        )


def _check_publishable(draft: EntryDraft) -> None:
    if not draft.answer.strip():
        raise InvalidEntry("an entry needs an answer before it can be published")


def _columns(entry: FAQEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "language": entry.language,
        "category": entry.category,
        "status": entry.status.value,
        "version": entry.version,
        "question": entry.question,
        "paraphrases": json.dumps(list(entry.paraphrases), ensure_ascii=False),
        "answer": entry.answer,
        "tags": json.dumps(list(entry.tags), ensure_ascii=False),
        "author": entry.author,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
        "published_at": entry.published_at,
    }
