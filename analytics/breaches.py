"""Breach detection: each target measured over a rolling window of business days, and one alert per target and day.

`BreachWatcher.run_pass(now)` groups the targets by scope, asks the report (the very code the dashboard runs, passed
in as `report`) for the window ending on today's business day (`window_days` days, in the business time zone) with
each scope's filter, and for each target the value misses writes a row to `analytics_breaches` keyed by (target,
day). Only the pass whose insert lands tells the `BreachNotifier` (staff alert, webhook), so a breach raises one
alert per target and window day even when passes race or a replica restarts; should telling fail, the row goes again
and the next pass retries. A target the window cannot measure (no data) is not breached. Must never send anything
itself: the notifier does (`bot.analytics_alerts`).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import delete

from analytics.pdca_tables import analytics_breaches
from analytics.query import ReportQuery
from analytics.targets import Target, all_targets
from backends.sql import Database, upsert

log = logging.getLogger(__name__)

WINDOW_DAYS = 7

ReportOf = Callable[[ReportQuery], Awaitable[Mapping[str, Any]]]


@dataclass(frozen=True)
class Breach:
    """`target` missed: the window `start`..`end` (business days, the alert's day is `end`) measured `value`."""

    target: Target
    value: float
    start: dt.date
    end: dt.date
    at: float

    @property
    def link(self) -> str:
        """The dashboard over the window, filtered by the target's scope."""
        params = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.target.scope:
            params[self.target.scope[0]] = self.target.scope[1]
        return f"/console/analytics?{urlencode(params)}"

    def to_dict(self) -> dict[str, Any]:
        """The webhook's JSON notice."""
        return {
            "kind": "kpi_breach",
            "kpi": self.target.kpi,
            "op": self.target.op,
            "target": self.target.value,
            "value": self.value,
            "scope": None if self.target.scope is None else {self.target.scope[0]: self.target.scope[1]},
            "window": {"from": self.start.isoformat(), "to": self.end.isoformat()},
            "day": self.end.isoformat(),
            "at": self.at,
            "link": self.link,
        }


class BreachNotifier(Protocol):
    """Who hears of a breach (`bot.analytics_alerts.BreachAlerts`: the supervisors' alerts and the webhook).
    Raising means the breach was not told: the watcher tries again next pass."""

    async def breached(self, breach: Breach) -> None: ...


class BreachWatcher:
    def __init__(
        self,
        db: Database,
        report: ReportOf,
        notifier: BreachNotifier,
        tz: str,
        *,
        window_days: int = WINDOW_DAYS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._report = report
        self._notifier = notifier
        self._tz = tz
        self._window_days = window_days
        self._clock = clock

    async def run_pass(self, now: float | None = None) -> list[Breach]:
        """Measures every target once; returns the breaches this pass raised (not those raised before)."""
        now = self._clock() if now is None else now
        today = dt.datetime.fromtimestamp(now, ZoneInfo(self._tz)).date()
        start = today - dt.timedelta(days=self._window_days - 1)
        by_scope: dict[tuple[str, str] | None, list[Target]] = {}
        for target in await all_targets(self._db):
            by_scope.setdefault(target.scope, []).append(target)
        raised: list[Breach] = []
        for scope, targets in by_scope.items():
            filters = {scope[0]: scope[1]} if scope else {}
            report = await self._report(ReportQuery(start, today, self._tz, filters))
            values = {row["key"]: row.get("value") for row in report["kpis"]}
            for target in targets:
                value = values.get(target.kpi)
                if value is None or not target.breached_by(value):
                    continue
                breach = Breach(target, float(value), start, today, now)
                if await self._raise(breach):
                    raised.append(breach)
        return raised

    async def _raise(self, breach: Breach) -> bool:
        """Whether this pass raised `breach` (False: an earlier pass did, or telling failed and waits for the next)."""
        key = self._key(breach)
        inserted = await self._db.execute(
            upsert(self._db, analytics_breaches)
            .values(**key, op=breach.target.op, target=breach.target.value, value=breach.value, at=breach.at)
            .on_conflict_do_nothing()
        )
        if not inserted:
            return False
        try:
            await self._notifier.breached(breach)
        except Exception:
            log.exception("KPI breach of %s not told; trying again next pass", breach.target.describe())
            await self._db.execute(
                delete(analytics_breaches).where(*(analytics_breaches.c[name] == value for name, value in key.items()))
            )
            return False
        log.info(
            "KPI breach: %s measured %s (%s..%s)", breach.target.describe(), breach.value, breach.start, breach.end
        )
        return True

    @staticmethod
    def _key(breach: Breach) -> dict[str, str]:
        scope_name, scope_value = breach.target.scope or ("", "")
        return {
            "kpi": breach.target.kpi,
            "scope_name": scope_name,
            "scope_value": scope_value,
            "day": breach.end.isoformat(),
        }


__all__ = ["WINDOW_DAYS", "Breach", "BreachNotifier", "BreachWatcher", "ReportOf"]
