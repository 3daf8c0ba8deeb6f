"""CSV exports of the report: `export_csv(...)` yields the text of one table, UTF-8 with a BOM first (so Excel opens
Chinese correctly), chunk by chunk.

`kpis`, `agents`, `teams`, `sla` and `daily` are rendered from the report JSON itself (`analytics.report`), so the
numbers in a file equal those on the screen; `conversations` and `tickets` are the raw fact rows of the range by day,
read page by page (keyset on the day and the primary key: each page continues the day index's range, never sorts the
whole range again), so a year of rows never sits in memory at once and the first bytes leave at once. Times are
written in the business time zone ("YYYY-MM-DD HH:MM:SS"), durations in seconds. Must never read live state.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select, tuple_

from analytics.query import ReportQuery
from analytics.tables import analytics_conversations, analytics_tickets
from backends.sql import SQL

BOM = "\ufeff"
TABLES = ("kpis", "agents", "teams", "sla", "daily", "conversations", "tickets")
RAW_TABLES = {"conversations": analytics_conversations, "tickets": analytics_tickets}
PAGE = 5000
_COLUMNS = {
    "kpis": ("key", "value", "previous", "unit", "better", "n", "target_op", "target", "breached"),
    "agents": ("agent", "display_name", "conversations", "first_response_p50", "handle_p50", "csat", "csat_n"),
    "teams": ("team", "name", "conversations", "tickets", "first_response_p50", "resolution_p50", "csat", "csat_n"),
    "sla": ("priority", "clock", "target_s", "met", "missed", "rate"),
}


def filename(table: str, query: ReportQuery) -> str:
    return f"frontdoor-{table}-{query.start.isoformat()}-{query.end.isoformat()}.csv"


def _csv(rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()


def report_rows(table: str, report: Mapping[str, Any]) -> list[list[Any]]:
    """The header and rows of one of the report's own tables."""
    if table == "daily":
        series = report["series"]
        names = [n for n in series if n != "days"]
        return [["day", *names], *([day, *(series[n][i] for n in names)] for i, day in enumerate(series["days"]))]
    columns = _COLUMNS[table]
    source = report[table] if table != "kpis" else [_flat_target(row) for row in report["kpis"]]
    return [list(columns), *([row.get(c) for c in columns] for row in source)]


def _flat_target(kpi: Mapping[str, Any]) -> Mapping[str, Any]:
    """A KPI row with its target (`analytics.targets`) in columns of its own: `target_op`, `target`, `breached`."""
    target = kpi.get("target")
    if not target:
        return kpi
    return {**kpi, "target_op": target["op"], "target": target["value"], "breached": kpi.get("breached")}


async def raw_rows(db: SQL, table: str, query: ReportQuery) -> AsyncIterator[list[list[Any]]]:
    """Pages of the raw fact rows of `table` ("conversations" or "tickets") in the range, by day and id, the header
    first."""
    facts: Table = RAW_TABLES[table]
    key = facts.primary_key.columns.values()[0]
    zone = ZoneInfo(query.tz)
    names = [c.name for c in facts.columns]
    times = [i for i, name in enumerate(names) if name.endswith(("_at", "_due"))]
    yield [names]
    after: tuple[str, str] | None = None
    while True:
        statement = select(facts).where(*query.where(facts))
        if after is not None:
            # The day bound as well as the pair's: both backends then start the day index's scan at that day.
            statement = statement.where(facts.c.day >= after[0], tuple_(facts.c.day, key) > after)
        rows = await db.fetch(statement.order_by(facts.c.day, key).limit(PAGE))
        if not rows:
            return
        page = [[row[name] for name in names] for row in rows]
        for cells in page:
            for i in times:
                if cells[i] is not None:
                    cells[i] = local_time(cells[i], zone)
        yield page
        after = (rows[-1]["day"], rows[-1][key.name])


def local_time(epoch_s: float, zone: ZoneInfo) -> str:
    """ "YYYY-MM-DD HH:MM:SS" in `zone` (isoformat, not strftime: the same text in a third of the time, and a 30-day
    export formats a few hundred thousand of them)."""
    return dt.datetime.fromtimestamp(float(epoch_s), zone).isoformat(" ", "seconds")[:19]


async def export_csv(db: SQL, table: str, query: ReportQuery, report: Mapping[str, Any] | None) -> AsyncIterator[str]:
    """The CSV text of `table`, BOM first; `report` (the report JSON of `query`) is needed for the report's tables."""
    yield BOM
    if table in RAW_TABLES:
        async for rows in raw_rows(db, table, query):
            yield _csv(rows)
        return
    if report is None:
        raise ValueError(f"the {table} table is rendered from the report: pass it")
    yield _csv(report_rows(table, report))


__all__ = ["BOM", "RAW_TABLES", "TABLES", "export_csv", "filename", "local_time", "report_rows"]
