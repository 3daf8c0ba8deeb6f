"""The weekly report's week: `parse_week("2026-W48")` → the ISO week's Monday..Sunday as a `ReportQuery` (whose
previous period is then the week before), and `week_label`. The report itself is the dashboard's
(`analytics.report.build_report`), never computed a second time. Raises `InvalidReportQuery` (code `bad_week`).
"""

from __future__ import annotations

import datetime as dt
import re

from analytics.exceptions import InvalidReportQuery
from analytics.query import ReportQuery, reportable_day

# ASCII digits only: `\d` also matches other scripts' digits, which `int` reads too.
_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")


def week_label(day: dt.date) -> str:
    """ "2026-W48": the ISO week of `day`."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(value: str | None, *, today: dt.date, tz: str) -> ReportQuery:
    """The week `value` ("YYYY-Www"; default: the last complete week before `today`), unfiltered."""
    if not value:
        monday = today - dt.timedelta(days=today.weekday() + 7)
    else:
        match = _WEEK.fullmatch(value)
        if match is None:
            raise InvalidReportQuery(f"'week' must be an ISO week YYYY-Www, not {value[:20]!r}", "bad_week")
        try:
            monday = dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:
            raise InvalidReportQuery(f"there is no week {value}", "bad_week") from None
        reportable_day(monday, "week", "bad_week")
    return ReportQuery(monday, monday + dt.timedelta(days=6), tz)


__all__ = ["parse_week", "week_label"]
