"""Thresholds an editor applied from the calibration report: kept in SQL (`kb_thresholds`), in force over the KB's
own fit for their language until reset, on every replica and after a restart.

Owns `ThresholdOverrides` (read all, set one, clear one) and `checked_thresholds` (the rule for a pair an editor may
apply). Must never decide which thresholds to propose (kb/proposal.py does) nor touch the index: the service hands
what is stored to the retriever.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import delete, select

from backends.sql import Database, upsert
from kb.abstention import Thresholds
from kb.exceptions import InvalidThresholds
from kb.tables import kb_thresholds

# `Thresholds.source` of a pair applied from the calibration report.
RECORD_SOURCE = "record"


def checked_thresholds(answer: object, clarify: object) -> tuple[float, float]:
    """(answer, clarify) as floats; raises InvalidThresholds unless both are numbers in [0, 1], clarify ≤ answer."""
    values = []
    for name, value in (("answer", answer), ("clarify", clarify)):
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            raise InvalidThresholds(f"'{name}' must be a number")
        if not 0.0 <= value <= 1.0:
            raise InvalidThresholds(f"'{name}' must be between 0 and 1")
        values.append(float(value))
    if values[1] > values[0]:
        raise InvalidThresholds("'clarify' must not be above 'answer'")
    return values[0], values[1]


class ThresholdOverrides:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def all(self) -> dict[str, Thresholds]:
        """Language → the applied thresholds (source "record")."""
        rows = await self._db.fetch(select(kb_thresholds))
        return {
            row["language"]: Thresholds(
                answer=float(row["answer"]), clarify=float(row["clarify"]), source=RECORD_SOURCE
            )
            for row in rows
        }

    async def set(
        self, language: str, answer: object, clarify: object, author: str, basis: Mapping[str, Any]
    ) -> Thresholds:
        """Applies (answer, clarify) to `language` (checked: InvalidThresholds), replacing any earlier pair."""
        answer_value, clarify_value = checked_thresholds(answer, clarify)
        row = {
            "language": language,
            "answer": answer_value,
            "clarify": clarify_value,
            "set_by": author,
            "set_at": self._clock(),
            "basis": json.dumps(dict(basis), ensure_ascii=False, sort_keys=True, default=str),
        }
        statement = upsert(self._db, kb_thresholds).values(**row)
        await self._db.execute(
            statement.on_conflict_do_update(
                index_elements=["language"], set_={k: v for k, v in row.items() if k != "language"}
            )
        )
        return Thresholds(answer=answer_value, clarify=clarify_value, source=RECORD_SOURCE)

    async def clear(self, language: str) -> bool:
        """Back to the KB's own fit for `language`; False when nothing was applied."""
        return await self._db.execute(delete(kb_thresholds).where(kb_thresholds.c.language == language)) > 0


__all__ = ["RECORD_SOURCE", "ThresholdOverrides", "checked_thresholds"]
