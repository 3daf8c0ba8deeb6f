"""Customer questions the knowledge base did not answer, kept for editors and grouped by similarity.

Owns `UnansweredStore` (table `kb_unanswered`), `UnansweredReason`, `group_questions` (greedy grouping over unit
vectors) and `clarify_before_handoff` (reads a transcript's kb events). A question lands here when the KB found
nothing, when a clarify question ended in a handoff, or when the customer said an answer did not help. Must never
encode text itself or write FAQ entries: the service passes vectors in and creates the draft.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
from sqlalchemy import select, update

from backends.sql import Database, upsert
from kb.constants import UNANSWERED_EXAMPLES, UNANSWERED_WINDOW
from kb.tables import kb_unanswered


class UnansweredReason(StrEnum):
    NOT_FOUND = "not_found"
    CLARIFY_HANDOFF = "clarify_handoff"
    UNHELPFUL = "unhelpful_answer"


class UnansweredState(StrEnum):
    OPEN = "open"
    DRAFTED = "drafted"  # an editor made a draft entry from it
    DISMISSED = "dismissed"


@dataclass(frozen=True)
class UnansweredQuestion:
    id: str
    query: str
    language: str
    reason: UnansweredReason
    at: float
    conversation_id: str = ""
    entry_id: str = ""
    confidence: float | None = None


@dataclass
class UnansweredGroup:
    """Questions that ask the same thing; `question` is the most frequent wording."""

    question: str
    language: str
    count: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    last_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "language": self.language,
            "count": self.count,
            "reasons": dict(self.reasons),
            "examples": list(self.examples),
            "ids": list(self.ids),
            "last_at": self.last_at,
        }


def normalise_question(text: str) -> str:
    """The key two wordings share when they differ only in case, spacing and trailing punctuation."""
    return " ".join(text.casefold().split()).strip(" ?？!！.。,，")


def group_questions(
    items: Sequence[UnansweredQuestion],
    vectors: Callable[[list[str]], np.ndarray],
    threshold: float,
    examples: int = UNANSWERED_EXAMPLES,
) -> list[UnansweredGroup]:
    """Greedy leader grouping, most asked wording first: a wording joins the first group whose leader is at least
    `threshold` cosine away, else it leads a new one. `vectors(texts)` returns unit rows. Largest groups first."""
    by_language: dict[str, dict[str, list[UnansweredQuestion]]] = {}
    for item in sorted(items, key=lambda i: i.at):
        # Oldest first, so a group is named by the wording customers used first.
        by_language.setdefault(item.language, {}).setdefault(normalise_question(item.query), []).append(item)
    groups: list[UnansweredGroup] = []
    for language, wordings in by_language.items():
        keys = sorted(wordings, key=lambda k: (-len(wordings[k]), k))
        matrix = vectors([wordings[k][0].query for k in keys]) if keys else np.zeros((0, 1), dtype=np.float32)
        leaders: list[int] = []
        members: dict[int, list[int]] = {}
        for i in range(len(keys)):
            home = next((j for j in leaders if float(matrix[i] @ matrix[j]) >= threshold), None)
            if home is None:
                leaders.append(i)
                members[i] = [i]
            else:
                members[home].append(i)
        for leader in leaders:
            group = UnansweredGroup(question=wordings[keys[leader]][0].query, language=language)
            for index in members[leader]:
                asked = wordings[keys[index]]
                group.count += len(asked)
                if len(group.examples) < examples:
                    group.examples.append(asked[0].query)
                for item in asked:
                    group.reasons[item.reason.value] = group.reasons.get(item.reason.value, 0) + 1
                    group.ids.append(item.id)
                    group.last_at = max(group.last_at, item.at)
            groups.append(group)
    groups.sort(key=lambda g: (-g.count, -g.last_at))
    return groups


class TranscriptMessage(Protocol):
    @property
    def custom(self) -> dict[str, Any]: ...


def clarify_before_handoff(messages: Sequence[TranscriptMessage]) -> dict[str, Any] | None:
    """The KB result (as a dict) of the last lookup in the transcript when it was a clarify question, else None."""
    for message in reversed(messages):
        result = message.custom.get("kb") if isinstance(message.custom, dict) else None
        if isinstance(result, dict):
            return result if result.get("decision") == "clarify" and result.get("query") else None
    return None


def _item(row: Any) -> UnansweredQuestion:
    return UnansweredQuestion(
        id=row["id"],
        query=row["query"],
        language=row["language"],
        reason=UnansweredReason(row["reason"]),
        at=float(row["at"]),
        conversation_id=row["conversation_id"],
        entry_id=row["entry_id"],
        confidence=row["confidence"],
    )


class UnansweredStore:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def record(
        self,
        query: str,
        language: str,
        reason: UnansweredReason,
        *,
        conversation_id: str = "",
        entry_id: str = "",
        confidence: float | None = None,
        at: float | None = None,
    ) -> bool:
        """Keep one unanswered question; False when this conversation already reported it for this reason (every
        replica hears the same handoff event, and only one row should come of it)."""
        query = " ".join(query.split())
        if not query:
            return False
        if conversation_id:
            digest = hashlib.sha256(query.encode()).hexdigest()[:16]
            dedupe = f"{reason.value}:{conversation_id}:{digest}"
        else:
            dedupe = f"{reason.value}:{secrets.token_hex(8)}"
        row_id = f"uq_{secrets.token_hex(8)}"
        inserted = await self._db.execute(
            upsert(self._db, kb_unanswered)
            .values(
                id=row_id,
                query=query,
                language=language,
                reason=reason.value,
                conversation_id=conversation_id,
                entry_id=entry_id,
                confidence=confidence,
                at=self._clock() if at is None else at,
                state=UnansweredState.OPEN.value,
                draft_entry_id="",
                dedupe_key=dedupe,
            )
            .on_conflict_do_nothing(index_elements=[kb_unanswered.c.dedupe_key])
        )
        return inserted == 1

    async def open_items(self, language: str | None = None, limit: int = UNANSWERED_WINDOW) -> list[UnansweredQuestion]:
        query = select(kb_unanswered).where(kb_unanswered.c.state == UnansweredState.OPEN.value)
        if language:
            query = query.where(kb_unanswered.c.language == language)
        rows = await self._db.fetch(query.order_by(kb_unanswered.c.at.desc()).limit(limit))
        return [_item(r) for r in rows]

    async def get_many(self, ids: Sequence[str]) -> list[UnansweredQuestion]:
        if not ids:
            return []
        rows = await self._db.fetch(
            select(kb_unanswered).where(kb_unanswered.c.id.in_(ids)).order_by(kb_unanswered.c.at)
        )
        return [_item(r) for r in rows]

    async def close(self, ids: Sequence[str], state: UnansweredState, draft_entry_id: str = "") -> int:
        """Mark open questions drafted or dismissed; returns how many changed."""
        if not ids:
            return 0
        return await self._db.execute(
            update(kb_unanswered)
            .where(kb_unanswered.c.state == UnansweredState.OPEN.value, kb_unanswered.c.id.in_(ids))
            .values(state=state.value, draft_entry_id=draft_entry_id)
        )
