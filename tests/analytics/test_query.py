"""Report parameters: defaults, the previous period, and every bad input as `InvalidReportQuery` with its code."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.exceptions import InvalidReportQuery
from analytics.query import parse_query

TODAY = dt.date(2026, 11, 28)


def parse(**params: str) -> object:
    return parse_query(params, today=TODAY, tz="Asia/Shanghai")


def test_the_default_is_the_last_28_days_ending_today_and_the_previous_period_precedes_it() -> None:
    query = parse_query({}, today=TODAY, tz="Asia/Shanghai")
    assert (query.start, query.end, query.days) == (dt.date(2026, 11, 1), TODAY, 28)
    assert query.describe()["previous"] == {"from": "2026-10-04", "to": "2026-10-31"}
    assert query.describe()["filters"] == dict.fromkeys(
        ("channel", "language", "team", "queue", "category", "priority", "agent")
    )


def test_a_range_of_366_days_is_allowed_and_filters_are_kept() -> None:
    params = {"from": "2025-01-01", "to": "2026-01-01", "channel": "web", "agent": ""}
    query = parse_query(params, today=TODAY, tz="UTC")
    assert query.days == 366
    assert dict(query.filters) == {"channel": "web"}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": "2026-02-30"}, "bad_date"),
        ({"to": "28/11/2026"}, "bad_date"),
        # Days whose default range or previous period would leave the calendar (they were a 500).
        ({"from": "9999-12-20"}, "bad_date"),
        ({"to": "0001-01-01"}, "bad_date"),
        ({"from": "0001-01-01", "to": "0001-01-05"}, "bad_date"),
        ({"from": "2026-11-10", "to": "2026-11-09"}, "reversed_range"),
        ({"from": "2016-01-01", "to": "2026-01-01"}, "range_too_long"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "range_too_long"),
        ({"metric": "volume"}, "unknown_filter"),
        ({"team": "a\x00b"}, "bad_filter"),
    ],
)
def test_bad_parameters_raise_with_a_stable_code(params: dict[str, str], code: str) -> None:
    with pytest.raises(InvalidReportQuery) as caught:
        parse(**params)
    assert caught.value.code == code
