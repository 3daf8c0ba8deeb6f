"""The weekly report as a printable HTML page: the week's KPIs against their targets and the week before, and the
changes annotated on those days, in the member's language (en / zh).

`render_weekly(report, week, language)` writes the page from the dashboard's report JSON of the week
(`analytics.report.build_report`; its previous period is the week before), so the page, the weekly CSV and the
dashboard show the same numbers. Every value that is not ours (annotation labels, filter values) is escaped. KPI
names are `analytics.metrics.KPI_LABELS`, translated here.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from analytics.metrics import KPI_LABELS
from analytics.targets import format_value
from i18n import N_, gettext, translate

ANNOTATION_KINDS: Mapping[str, str] = {
    "note": N_("Note"),
    "setting": N_("Setting changed"),
    "target": N_("Target changed"),
    "faq_published": N_("FAQ published"),
    "faq_unpublished": N_("FAQ unpublished"),
    "faq_archived": N_("FAQ archived"),
}

_STYLE = """
body{background:#fff}main{margin:2rem;color:#1d2430}
h1{font-size:1.5rem;margin:0 0 .25rem}p.meta{color:#555;margin:0 0 1rem}
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border-bottom:1px solid #ccd;padding:.35rem .5rem;
text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}tr.breached td{background:#fdecea}
.missed{color:#b3261e;font-weight:600}.met{color:#1e7a36}.report-nav a{margin-right:1rem}
@media print{nav,.fd-shell{display:none}main{margin:0}tr{break-inside:avoid}}
"""


def _t(language: str, msgid: str) -> str:
    return escape(gettext(language, msgid))


def change_text(unit: str, value: float | None, previous: float | None, language: str = "en") -> str:
    """The week's change in `language`: percentage points for ratios, the signed difference in the unit otherwise."""
    if value is None or previous is None:
        return "–"
    diff = value - previous
    sign = "+" if diff > 0 else "−" if diff < 0 else "±"
    if unit == "ratio":
        return sign + translate(language, "{n} pp", n=f"{abs(diff) * 100:.1f}")
    return sign + format_value(unit, abs(diff), language)


def _status(language: str, kpi: Mapping[str, Any]) -> str:
    if "target" not in kpi:
        return "–"
    if kpi.get("value") is None:
        return escape(translate(language, "Nothing to measure"))
    if kpi.get("breached"):
        missed = escape(translate(language, "Missed"))
        return f'<span class="missed">{missed}</span>'
    met = escape(translate(language, "Met"))
    return f'<span class="met">{met}</span>'


def _kpi_row(language: str, kpi: Mapping[str, Any]) -> str:
    unit = kpi["unit"]
    target = kpi.get("target")
    target_text = f"{escape(target['op'])} {escape(format_value(unit, target['value'], language))}" if target else "–"
    cells = [
        escape(gettext(language, KPI_LABELS.get(kpi["key"], kpi["key"]))),
        f'<td class="num">{escape(format_value(unit, kpi.get("value"), language))}</td>',
        f'<td class="num">{escape(format_value(unit, kpi.get("previous"), language))}</td>',
        f'<td class="num">{escape(change_text(unit, kpi.get("value"), kpi.get("previous"), language))}</td>',
        f'<td class="num">{target_text}</td>',
        f"<td>{_status(language, kpi)}</td>",
    ]
    css = ' class="breached"' if kpi.get("breached") else ""
    return f"<tr{css}><td>{cells[0]}</td>{''.join(cells[1:])}</tr>"


def render_weekly(report: Mapping[str, Any], week: str, previous_week: str, next_week: str, language: str) -> str:
    """The page (a full HTML document) for `report`, the week `week` ("2026-W48"); the neighbours are linked."""
    lang = "zh-CN" if language == "zh" else "en"
    span = report["range"]
    prev = report["previous"]
    kpis = report["kpis"]
    breached = sum(1 for k in kpis if k.get("breached"))
    with_target = sum(1 for k in kpis if "target" in k)
    rows = "".join(_kpi_row(language, k) for k in kpis)
    notes = "".join(
        f"<li>{escape(a['day'])} · {_t(language, ANNOTATION_KINDS.get(a['kind'], a['kind']))}: "
        f"{escape(a['label'])}</li>"
        for a in report.get("annotations", [])
    )
    weekly = "/console/analytics/weekly"
    titles = (
        translate(language, "KPI"),
        translate(language, "This week"),
        translate(language, "Previous week"),
        translate(language, "Change"),
        translate(language, "Target"),
        translate(language, "Status"),
    )
    head = "".join(f"<th>{escape(title)}</th>" for title in titles)
    w = {
        "title": escape(translate(language, "Weekly service report")),
        "analytics": escape(translate(language, "Analytics")),
        "previous": escape(translate(language, "Previous week")),
        "next": escape(translate(language, "Next week")),
        "csv": escape(translate(language, "Download CSV")),
        "missed": escape(translate(language, "Targets missed")),
        "changes": escape(translate(language, "Changes and notes")),
        "none": escape(translate(language, "None this week")),
    }
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<title>{w["title"]} {escape(week)}</title>
<link rel="stylesheet" href="/staff/static/staff.css">
<style>{_STYLE}</style></head>
<body>
<main>
<nav class="report-nav">
<a href="/console/analytics?from={escape(span["from"])}&amp;to={escape(span["to"])}">{w["analytics"]}</a>
<a href="{weekly}?week={escape(previous_week)}">{w["previous"]}</a>
<a href="{weekly}?week={escape(next_week)}">{w["next"]}</a>
<a href="/api/v1/analytics/weekly.csv?week={escape(week)}">{w["csv"]}</a></nav>
<h1>{w["title"]} {escape(week)}</h1>
<p class="meta">{escape(span["from"])} – {escape(span["to"])} ({escape(span["tz"])}) ·
{w["previous"]}: {escape(prev["from"])} – {escape(prev["to"])} ·
{w["missed"]}: {breached} / {with_target}</p>
<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>
<h2>{w["changes"]}</h2>
<ul>{notes or f"<li>{w['none']}</li>"}</ul>
</main>
<script src="/staff/static/i18n.js"></script>
<script src="/staff/static/shell.js"></script>
<script src="/staff/static/weekly.js"></script>
</body></html>
"""


__all__ = ["ANNOTATION_KINDS", "change_text", "render_weekly"]
