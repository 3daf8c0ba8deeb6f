"""Analytics: the service process measured from the service record, never from live state.

`analytics.tables` holds facts derived only from `service_events` (one row per conversation, handoff episode, agent's
work in it, ticket, survey and KB decision); `analytics.projector.Projector` keeps them current (incremental,
idempotent, rebuildable); `analytics.report`, `analytics.drill` and `analytics.export` answer the dashboard's
questions with the definitions of docs/metrics.md. Imports no web code.
"""

from analytics.exceptions import AnalyticsError, InvalidReportQuery
from analytics.facts import Clocks
from analytics.projector import Projector
from analytics.settings import AnalyticsConfig

__all__ = ["AnalyticsConfig", "AnalyticsError", "Clocks", "InvalidReportQuery", "Projector"]
