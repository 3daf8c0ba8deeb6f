"""Chart annotations: changes that may explain a move in a KPI, for the report's `annotations` list.

Three sources: supervisors' notes and applied settings or thresholds (`AnnotationStore.add`, kind "note" or
"setting"), target changes (written by `analytics.targets.TargetStore` as kind "target"), and FAQ entries published,
unpublished or archived, read from the KB's own revision history (`kb_revisions`, kinds "faq_published",
"faq_unpublished", "faq_archived", the entry's question as label) so nothing is copied. `in_range` gives them all for
a report's days, oldest first: `[{at, day, kind, label}]`. Labels are staff-written text: pages must render them as
text. Raises `InvalidTarget` (code `bad_note`) for a note that cannot be kept. Must never read the clock except
through its `clock`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from analytics.exceptions import InvalidTarget
from analytics.facts import Clocks
from analytics.pdca_tables import analytics_annotations
from analytics.query import ReportQuery
from backends.sql import SQL, Database
from kb.store import RevisionAction
from kb.tables import kb_revisions

KINDS = ("note", "setting", "target")
FAQ_KINDS = {
    RevisionAction.PUBLISHED.value: "faq_published",
    RevisionAction.UNPUBLISHED.value: "faq_unpublished",
    RevisionAction.ARCHIVED.value: "faq_archived",
}
MAX_LABEL_CHARS = 500
# A chart with more marks than this is unreadable; the newest are kept.
MAX_ANNOTATIONS = 200


def _bounds(query: ReportQuery) -> tuple[float, float]:
    """Epoch seconds of the range's first midnight and of the midnight after its last day, in its time zone."""
    zone = ZoneInfo(query.tz)
    start = dt.datetime.combine(query.start, dt.time(), zone).timestamp()
    end = dt.datetime.combine(query.end + dt.timedelta(days=1), dt.time(), zone).timestamp()
    return start, end


class AnnotationStore:
    def __init__(self, db: Database, clocks: Clocks, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clocks = clocks
        self._clock = clock

    async def add(self, kind: str, label: str, author: str, *, day: dt.date | None = None) -> dict[str, Any]:
        """Keeps one annotation now (on `day`, default today in the business time zone); returns it as listed."""
        if kind not in KINDS:
            raise InvalidTarget(f"an annotation is one of {', '.join(KINDS)}", "bad_kind")
        text = " ".join(str(label).split())
        if not text or len(text) > MAX_LABEL_CHARS or not text.isprintable():
            raise InvalidTarget(f"a note is 1 to {MAX_LABEL_CHARS} printable characters", "bad_note")
        at = self._clock()
        day_text = day.isoformat() if day is not None else self._clocks.day(at)
        await self._db.execute(
            insert(analytics_annotations).values(at=at, day=day_text, kind=kind, label=text, author=author)
        )
        return {"at": at, "day": day_text, "kind": kind, "label": text}


async def in_range(db: SQL, query: ReportQuery) -> list[dict[str, Any]]:
    """Every annotation on the query's days (filters do not apply: a change concerns every view), oldest first."""
    a = analytics_annotations
    rows = await db.fetch(
        select(a.c.at, a.c.day, a.c.kind, a.c.label)
        .where(a.c.day >= query.start.isoformat(), a.c.day <= query.end.isoformat())
        .order_by(a.c.at.desc())
        .limit(MAX_ANNOTATIONS)
    )
    out = [{"at": float(r["at"]), "day": r["day"], "kind": r["kind"], "label": r["label"]} for r in rows]
    out += await _faq_changes(db, query)
    out.sort(key=lambda item: item["at"])
    return out[-MAX_ANNOTATIONS:]


async def _faq_changes(db: SQL, query: ReportQuery) -> list[dict[str, Any]]:
    r = kb_revisions
    start, end = _bounds(query)
    rows = await db.fetch(
        select(r.c.at, r.c.action, r.c.snapshot)
        .where(r.c.at >= start, r.c.at < end, r.c.action.in_(list(FAQ_KINDS)))
        .order_by(r.c.at.desc())
        .limit(MAX_ANNOTATIONS)
    )
    zone = ZoneInfo(query.tz)
    out: list[dict[str, Any]] = []
    for row in rows:
        at = float(row["at"])
        try:
            snapshot = json.loads(row["snapshot"])
            label = f"{snapshot.get('id', '')}: {snapshot.get('question', '')}"
        except (TypeError, ValueError, AttributeError):
            label = ""
        day = dt.datetime.fromtimestamp(at, zone).date().isoformat()
        out.append({"at": at, "day": day, "kind": FAQ_KINDS[row["action"]], "label": label})
    return out


__all__ = ["FAQ_KINDS", "KINDS", "MAX_ANNOTATIONS", "AnnotationStore", "in_range"]
