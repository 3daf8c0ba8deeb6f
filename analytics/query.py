"""What a report is asked about: `ReportQuery` (a range of business days, the previous period, exact-match filters)
parsed and checked from request parameters by `parse_query`, and the SQL conditions it puts on a facts table.

Every bad input raises `InvalidReportQuery` with a stable code (`bad_date`, `reversed_range`, `range_too_long`,
`unknown_filter`, `bad_filter`), which the API turns into a 400. Must never read the clock: callers pass today.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Table

from analytics.exceptions import InvalidReportQuery
from analytics.tables import FILTER_DIMENSIONS

DEFAULT_DAYS = 28
MAX_DAYS = 366
MAX_FILTER_CHARS = 200
RANGE_PARAMETERS = ("from", "to")
# The days a report may name: no service record is older than the epoch, and the default range, the previous period
# and the weekly report's neighbouring weeks must stay within the calendar Python can count (year 1 to 9999).
FIRST_DAY = dt.date(1970, 1, 1)
LAST_DAY = dt.date(9998, 12, 31)


@dataclass(frozen=True)
class ReportQuery:
    """Days `start`..`end` inclusive in the business time zone `tz`, and the filters given (dimension → value)."""

    start: dt.date
    end: dt.date
    tz: str
    filters: Mapping[str, str] = field(default_factory=dict)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> ReportQuery:
        """The same number of days immediately before `start`, with the same filters."""
        end = self.start - dt.timedelta(days=1)
        return ReportQuery(end - dt.timedelta(days=self.days - 1), end, self.tz, self.filters)

    def day_list(self) -> list[str]:
        return [(self.start + dt.timedelta(days=i)).isoformat() for i in range(self.days)]

    def where(self, table: Table, *, skip: Collection[str] = ()) -> list[ColumnElement[bool]]:
        """The range on `table.day` and every filter on its column of that name (except those in `skip`)."""
        return [
            table.c.day >= self.start.isoformat(),
            table.c.day <= self.end.isoformat(),
            *(table.c[name] == value for name, value in self.filters.items() if name not in skip),
        ]

    def describe(self) -> dict[str, object]:
        """The report's `range`, `previous` and `filters` members."""
        previous = self.previous
        return {
            "range": {"from": self.start.isoformat(), "to": self.end.isoformat(), "days": self.days, "tz": self.tz},
            "previous": {"from": previous.start.isoformat(), "to": previous.end.isoformat()},
            "filters": {name: self.filters.get(name) for name in FILTER_DIMENSIONS},
        }


def _date(params: Mapping[str, str], name: str) -> dt.date | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidReportQuery(f"'{name}' must be a date YYYY-MM-DD, not {value[:40]!r}", "bad_date") from None
    return reportable_day(day, name)


def reportable_day(day: dt.date, name: str, code: str = "bad_date") -> dt.date:
    """`day` when a report may name it (FIRST_DAY..LAST_DAY); InvalidReportQuery `code` otherwise."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidReportQuery(f"'{name}' must lie between {FIRST_DAY} and {LAST_DAY}", code)
    return day


def parse_query(params: Mapping[str, str], *, today: dt.date, tz: str, extra: Collection[str] = ()) -> ReportQuery:
    """The query of `params` (`from`, `to`, the filters, and the names in `extra`, which the caller reads itself).
    Defaults: the last 28 days ending `today`. Raises InvalidReportQuery."""
    unknown = sorted(set(params) - {*RANGE_PARAMETERS, *FILTER_DIMENSIONS, *extra})
    if unknown:
        raise InvalidReportQuery(f"unknown parameters {unknown[:5]}", "unknown_filter")
    start, end = _date(params, "from"), _date(params, "to")
    if end is None:
        end = today if start is None else start + dt.timedelta(days=DEFAULT_DAYS - 1)
    if start is None:
        start = end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise InvalidReportQuery(f"the range ends ({end}) before it starts ({start})", "reversed_range")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidReportQuery(f"a range covers at most {MAX_DAYS} days", "range_too_long")
    filters: dict[str, str] = {}
    for name in FILTER_DIMENSIONS:
        value = params.get(name)
        if value is None or value == "":
            continue
        if len(value) > MAX_FILTER_CHARS or "\x00" in value:
            raise InvalidReportQuery(f"'{name}' is not a value it could match", "bad_filter")
        filters[name] = value
    return ReportQuery(start, end, tz, filters)


__all__ = ["DEFAULT_DAYS", "FIRST_DAY", "LAST_DAY", "MAX_DAYS", "ReportQuery", "parse_query", "reportable_day"]
