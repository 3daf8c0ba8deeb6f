"""Every exception the analytics package raises, in one place.

Must never hold logic. Only a question the reports cannot answer raises (a bad range, an unknown filter or metric);
the projector's failures are the database's own, which its periodic job logs and retries.
"""

from __future__ import annotations


class AnalyticsError(Exception):
    """Base of every analytics error."""


class InvalidReportQuery(AnalyticsError, ValueError):
    """A report, drill-down or export that cannot be answered; `code` is the stable error code for the API."""

    def __init__(self, message: str, code: str = "bad_query") -> None:
        super().__init__(message)
        self.code = code


class InvalidTarget(AnalyticsError, ValueError):
    """A KPI target or an annotation that cannot be kept (unknown KPI, wrong operator, value out of the KPI's range,
    unknown scope, empty note); `code` is the stable error code for the API."""

    def __init__(self, message: str, code: str = "bad_target") -> None:
        super().__init__(message)
        self.code = code
