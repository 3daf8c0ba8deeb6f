"""KPI targets: what a supervisor wants a number to be ("csat >= 0.9", "first_response_p90 <= 3600 for urgent"),
kept in `analytics_targets`, and how a report's KPIs carry them.

`TargetStore` reads, sets (upsert) and clears targets; each change is also an annotation (kind "target") in the
same transaction, since a new target may explain why the dashboard turned red. `parse_target` checks what the API
receives: a KPI key of `analytics.metrics.KPIS`, an operator "<=" or ">=", a value in the KPI's range (a ratio 0..1,
seconds, counts and per-1,000 rates ≥ 0) and an optional scope, one report filter (`priority=urgent`). `with_targets`
marks the report's KPIs (`target`, `breached`); `format_value` words a value in its unit for alerts and the weekly
page. Raises `InvalidTarget` (with a code) for bad input. Must never read the clock except through its `clock`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select

from analytics.exceptions import InvalidTarget
from analytics.facts import Clocks
from analytics.metrics import KPIS
from analytics.pdca_tables import analytics_annotations, analytics_targets
from analytics.tables import FILTER_DIMENSIONS
from backends.sql import SQL, Database, Row, upsert
from i18n import translate

OPS = ("<=", ">=")
UNITS = {k.key: k.unit for k in KPIS}
MAX_SCOPE_CHARS = 200
# A count or a rate per 1,000 has no natural ceiling; this one only keeps nonsense (1e300) out.
MAX_VALUE = 1e9


@dataclass(frozen=True)
class Target:
    """`kpi` `op` `value`, for the reports filtered by `scope` (a (filter, value) pair, or None for every report).
    `set_at` is epoch seconds."""

    kpi: str
    op: str
    value: float
    scope: tuple[str, str] | None = None
    set_by: str = ""
    set_at: float = 0.0

    def breached_by(self, value: float | None) -> bool:
        """Whether `value` misses the target; nothing to measure (None) never does."""
        if value is None:
            return False
        return value > self.value if self.op == "<=" else value < self.value

    def describe(self) -> str:
        """ "csat >= 0.9", "first_response_p90 <= 3600 (priority=urgent)": the annotation's label."""
        scope = f" ({self.scope[0]}={self.scope[1]})" if self.scope else ""
        return f"{self.kpi} {self.op} {self.value:g}{scope}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kpi": self.kpi,
            "op": self.op,
            "value": self.value,
            "scope": None if self.scope is None else {self.scope[0]: self.scope[1]},
            "unit": UNITS[self.kpi],
            "set_by": self.set_by,
            "set_at": self.set_at,
        }


def parse_scope(params: Mapping[str, str]) -> tuple[str, str] | None:
    """The one filter of `params` naming a target's scope (`{"priority": "urgent"}`), or None when there is none.
    Raises InvalidTarget for an unknown name, two filters or an impossible value."""
    given = {name: value for name, value in params.items() if value not in (None, "")}
    unknown = sorted(set(given) - set(FILTER_DIMENSIONS))
    if unknown:
        raise InvalidTarget(
            f"a target's scope is one of {', '.join(FILTER_DIMENSIONS)}, not {unknown[:3]}", "bad_scope"
        )
    if len(given) > 1:
        raise InvalidTarget("a target's scope is one filter at most", "bad_scope")
    if not given:
        return None
    name, value = next(iter(given.items()))
    if not isinstance(value, str) or len(value) > MAX_SCOPE_CHARS or not value.isprintable():
        raise InvalidTarget(f"'{name}' is not a value a report could be filtered by", "bad_scope")
    return name, value


def parse_target(kpi: str, body: Any) -> Target:
    """The target `body` (`{"op": "<=", "value": 3600, "scope": {"priority": "urgent"}}`) sets for `kpi`.
    Raises InvalidTarget: `unknown_kpi`, `bad_op`, `bad_value`, `bad_scope`, `bad_body`."""
    if kpi not in UNITS:
        raise InvalidTarget(f"no KPI {kpi[:60]!r}", "unknown_kpi")
    if not isinstance(body, dict):
        raise InvalidTarget("send a JSON object {op, value, scope?}", "bad_body")
    unknown = sorted(set(body) - {"op", "value", "scope"})
    if unknown:
        raise InvalidTarget(f"unknown members {unknown[:3]}", "bad_body")
    op = body.get("op")
    if op not in OPS:
        raise InvalidTarget('\'op\' must be "<=" or ">="', "bad_op")
    value = body.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidTarget("'value' must be a number", "bad_value")
    unit = UNITS[kpi]
    high = 1.0 if unit == "ratio" else MAX_VALUE
    if not 0.0 <= value <= high:
        raise InvalidTarget(f"a {unit} target lies between 0 and {high:g}", "bad_value")
    scope = body.get("scope")
    if scope is not None and not isinstance(scope, dict):
        raise InvalidTarget('\'scope\' must be an object such as {"priority": "urgent"}', "bad_scope")
    return Target(kpi, str(op), float(value), parse_scope(scope or {}))


def _scope_columns(scope: tuple[str, str] | None) -> dict[str, str]:
    name, value = scope or ("", "")
    return {"scope_name": name, "scope_value": value}


def _target(row: Row) -> Target:
    scope = (row["scope_name"], row["scope_value"]) if row["scope_name"] else None
    return Target(row["kpi"], row["op"], float(row["value"]), scope, row["set_by"], float(row["set_at"]))


async def all_targets(db: SQL) -> list[Target]:
    """Every target, by KPI and scope."""
    t = analytics_targets
    rows = await db.fetch(select(t).order_by(t.c.kpi, t.c.scope_name, t.c.scope_value))
    return [_target(row) for row in rows]


class TargetStore:
    """Targets in SQL (SQLite or PostgreSQL); days of the annotations it writes are in `clocks`' time zone."""

    def __init__(self, db: Database, clocks: Clocks, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clocks = clocks
        self._clock = clock

    async def all(self) -> list[Target]:
        return await all_targets(self._db)

    async def set(self, target: Target, author: str) -> Target:
        """Sets (or replaces) the target of its KPI and scope; returns it as stored."""
        now = self._clock()
        stored = Target(target.kpi, target.op, target.value, target.scope, author, now)
        values = {"op": stored.op, "value": stored.value, "set_by": author, "set_at": now}
        async with self._db.transaction() as tx:
            await tx.execute(
                upsert(tx, analytics_targets)
                .values(kpi=stored.kpi, **_scope_columns(stored.scope), **values)
                .on_conflict_do_update(index_elements=["kpi", "scope_name", "scope_value"], set_=values)
            )
            await tx.execute(self._annotation(now, f"target {stored.describe()}", author))
        return stored

    async def clear(self, kpi: str, scope: tuple[str, str] | None, author: str) -> bool:
        """Removes the target of `kpi` and `scope`; False when there was none."""
        columns = _scope_columns(scope)
        now = self._clock()
        async with self._db.transaction() as tx:
            removed = await tx.execute(
                delete(analytics_targets).where(
                    analytics_targets.c.kpi == kpi,
                    *(analytics_targets.c[name] == value for name, value in columns.items()),
                )
            )
            if removed:
                scope_text = f" ({scope[0]}={scope[1]})" if scope else ""
                await tx.execute(self._annotation(now, f"target {kpi}{scope_text} cleared", author))
        return bool(removed)

    def _annotation(self, at: float, label: str, author: str) -> Any:
        return insert(analytics_annotations).values(
            at=at, day=self._clocks.day(at), kind="target", label=label, author=author
        )


def applicable(targets: Sequence[Target], filters: Mapping[str, str]) -> dict[str, Target]:
    """KPI key → the target that applies to a report with `filters`: one scoped to a filter the report has
    (same value) wins over the unscoped one; a target scoped to a filter the report lacks does not apply."""
    out = {t.kpi: t for t in targets if t.scope is None}
    out.update({t.kpi: t for t in targets if t.scope is not None and filters.get(t.scope[0]) == t.scope[1]})
    return out


def with_targets(kpis: Sequence[dict[str, Any]], targets: Mapping[str, Target]) -> list[dict[str, Any]]:
    """The report's KPI rows, each with a target carrying `target` ({op, value}) and `breached`."""
    out: list[dict[str, Any]] = []
    for row in kpis:
        target = targets.get(row["key"])
        if target is None:
            out.append(row)
        else:
            target_json = {"op": target.op, "value": target.value}
            out.append({**row, "target": target_json, "breached": target.breached_by(row.get("value"))})
    return out


def format_value(unit: str, value: float | None, language: str = "en") -> str:
    """A value as people read it, in `language` (en / zh): ratios in per cent, seconds in s / min / h, counts whole,
    rates with one decimal; "–" for nothing to measure."""
    if value is None:
        return "–"
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "seconds":
        if value < 120:
            return translate(language, "{n} s", n=f"{value:.0f}")
        if value < 7200:
            return translate(language, "{n} min", n=f"{value / 60:.1f}")
        return translate(language, "{n} h", n=f"{value / 3600:.1f}")
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:.1f}"


__all__ = [
    "OPS",
    "UNITS",
    "Target",
    "TargetStore",
    "all_targets",
    "applicable",
    "format_value",
    "parse_scope",
    "parse_target",
    "with_targets",
]
