"""The PDCA controls of /console/analytics in a real Chromium, on the real API: a supervisor picks a card's figure,
sets a target in per cent and sees the card marked missed, adds a note that shows as text and as a line on the
volume chart, follows the weekly report link, and clears the target again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser

from analytics.settings import AnalyticsConfig
from bot.keys import DATABASE
from bot.settings import Settings
from server.app import create_app
from staff.auth import Role
from staff.keys import STAFF
from tests.analytics.story import Story, bj
from tests.conftest import serving
from tests.kb.editor_support import FAST_KB
from tests.staff.test_shell_browser import log_in
from tests.widget.browser import TIMEOUT_MS, record_dialogs

pytestmark = pytest.mark.browser

NOTE = '<img src=x onerror="alert(1)"> new greeting'
MARKS = """
() => {
  const option = echarts.getInstanceByDom(document.getElementById("chart-volume")).getOption();
  const line = option.series[0].markLine;
  return line ? line.data.map((d) => d.name) : [];
}
"""


async def test_a_supervisor_sets_a_target_sees_the_breach_adds_a_note_and_clears_it(
    tmp_path: Path, browser: Browser
) -> None:
    settings = Settings(
        var_dir=tmp_path,
        rasa_url="http://127.0.0.1:9",
        kb=FAST_KB,
        analytics=AnalyticsConfig(project_s=0, target_check_s=0),
    )
    app = create_app(settings)
    yesterday = (dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() - dt.timedelta(days=1)).isoformat()
    async with serving(app) as url:
        await app[STAFF].add("sam", "pw", [Role.SUPERVISOR], "Sam")
        story = Story()
        story.opened("c1", "u1", bj(yesterday, "10:00"))
        story.handoff("c1", "u1", bj(yesterday, "10:00"))
        await story.save(app[DATABASE])

        page = await (await browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})).new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        dialogs = record_dialogs(page)
        await log_in(page, url, "sam")
        await page.wait_for_url("**/console**")
        await page.goto(f"{url}/console/analytics")
        await page.locator("body[data-ready=true]").wait_for()

        await page.click(".kpi[data-kpi=containment]")
        assert await page.input_value("#t-kpi") == "containment"
        assert await page.input_value("#t-op") == ">="
        await page.fill("#t-value", "40")
        await page.click("#t-save")
        card = page.locator(".kpi[data-kpi=containment]")
        await card.locator(".kpi-target.missed").wait_for()
        assert "40" in await card.locator(".kpi-target").inner_text()
        await page.locator("#target-list li", has_text="≥ 40").wait_for()

        await page.fill("#n-day", yesterday)
        await page.fill("#n-text", NOTE)
        await page.click("#n-add")
        await page.locator("#annotation-list li", has_text="new greeting").first.wait_for()
        assert NOTE in await page.locator("#annotation-list").inner_text()
        assert await page.locator("#annotation-list img").count() == 0
        assert await page.evaluate(MARKS)  # the day carries a line (the target change and the note)

        assert await page.get_attribute("#weekly-link", "href") == "/console/analytics/weekly"
        await page.click("#t-clear")
        await card.locator(".kpi-target").wait_for(state="detached")
        assert dialogs == [] and errors == []

        await page.click("#weekly-link")
        await page.locator("h1", has_text="Weekly service report").wait_for()
        # The staff shell on the report too: its pages, and a language switch that brings the report in Chinese.
        await page.locator("nav.fd-shell a[href='/console/analytics']").wait_for()
        await page.locator("nav.fd-shell .fd-lang-switch button[value=zh]").click()
        await page.locator("h1", has_text="每周服务报告").wait_for()
        assert errors == []
