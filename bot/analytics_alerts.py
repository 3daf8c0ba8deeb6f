"""The KPI targets' breach check: a pass every `FD_ANALYTICS_TARGET_CHECK_S` seconds, on one replica at a time, and
whom a breach tells.

Owns `analytics_alerts_context`, the `cleanup_ctx` that `setup_services` adds (each pass takes the leader lock
`backends.locks.leader_lock` picks, as the SLA scheduler's), and `BreachAlerts`, the `analytics.breaches`
notifier: a staff alert for the supervisors (`alerts.AlertKind.KPI_BREACH`, its title worded in each reader's
language when read) and, when `FD_ANALYTICS_ALERT_WEBHOOK_URL` is set, a JSON POST of the breach to it. A webhook
that fails or answers an error is logged and never raised: the alert already stands. Must never decide what breaches
(`analytics.breaches` does).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
from aiohttp import web

from alerts import KPI_BREACH_TITLE, SUPERVISORS, AlertKind, AlertStore
from analytics.breaches import Breach, BreachWatcher, ReportOf
from analytics.metrics import KPI_LABELS
from analytics.query import ReportQuery
from analytics.report import Names, build_report
from analytics.targets import UNITS, format_value
from backends.locks import leader_lock
from backends.periodic import PeriodicJob
from backends.sql import Database
from bot.keys import ANALYTICS_ALERTS, DATABASE, INTAKE, REDIS, SETTINGS
from intake.sla import SlaPolicy

log = logging.getLogger(__name__)

# The leader lock's name: the Redis key `fd:lock:analytics-targets`, or the advisory key of its schema and name.
TARGETS_LOCK = "analytics-targets"
WEBHOOK_TIMEOUT_S = 5.0


class BreachAlerts:
    """Tells of a breach: the supervisors' alert, then the webhook (if any, through `session`)."""

    def __init__(self, alerts: AlertStore, session: aiohttp.ClientSession | None, webhook_url: str) -> None:
        self._alerts = alerts
        self._session = session
        self._webhook_url = webhook_url

    async def breached(self, breach: Breach) -> None:
        unit = UNITS[breach.target.kpi]
        params = {
            "kpi": KPI_LABELS.get(breach.target.kpi, breach.target.kpi),
            "op": breach.target.op,
            "value": format_value(unit, breach.value),
            "target": format_value(unit, breach.target.value),
            "day": breach.end.isoformat(),
        }
        await self._alerts.add([SUPERVISORS], AlertKind.KPI_BREACH, KPI_BREACH_TITLE, params, breach.link)
        await self.post(breach.to_dict())

    async def post(self, notice: Mapping[str, Any]) -> None:
        """POSTs `notice` as JSON to the webhook; logs, never raises, when it fails."""
        if self._session is None or not self._webhook_url:
            return
        try:
            async with self._session.post(self._webhook_url, json=dict(notice)) as response:
                if response.status >= 300:
                    log.warning("KPI breach webhook answered %s", response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("KPI breach webhook failed: %s", exc)


def report_of(db: Database, policy: SlaPolicy) -> ReportOf:
    """The dashboard's report for a query, as the watcher asks it (no names: it reads KPI values only)."""

    async def report(query: ReportQuery) -> Mapping[str, Any]:
        return await build_report(db, query, Names(), policy, time.time())

    return report


async def analytics_alerts_context(app: web.Application) -> AsyncIterator[None]:
    """Runs the check for the app's lifetime (after storage); on cleanup a pass in flight finishes first."""
    config = app[SETTINGS].analytics
    if config.target_check_s <= 0:
        log.info("KPI target checks off on this replica (FD_ANALYTICS_TARGET_CHECK_S=0)")
        yield
        return
    db = app[DATABASE]
    timeout = aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        notifier = BreachAlerts(AlertStore(db), session, config.alert_webhook_url)
        watcher = BreachWatcher(
            db,
            report_of(db, app[INTAKE].sla_policy()),
            notifier,
            config.timezone,
            window_days=config.target_window_days,
        )
        lock = leader_lock(TARGETS_LOCK, db=db, redis=app.get(REDIS))
        job = PeriodicJob("analytics-targets", watcher.run_pass, interval_s=config.target_check_s, lock=lock)
        app[ANALYTICS_ALERTS] = job
        async with job.running():
            yield
