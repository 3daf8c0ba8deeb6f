"""The alerts bell in a real Chromium: a supervisor sees the unread count on their page, opens the list, reads the
alert in Chinese and in English, and it becomes read; another member's alert never shows, and the open list stays
legible."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from alerts import SUPERVISORS, AlertKind, sla_title
from bot.settings import Settings
from server.app import create_app
from staff.auth import Role
from staff.keys import ALERTS, STAFF
from tests.conftest import serving
from tests.kb.editor_support import FAST_KB
from tests.staff.test_shell_browser import ILLEGIBLE
from tests.widget.browser import TIMEOUT_MS

pytestmark = pytest.mark.browser

SUPERVISOR_ROLES = [role.value for role in (Role.AGENT, Role.SUPERVISOR)]
BREACHED = sla_title(AlertKind.SLA_BREACHED, "first_response")
AT_RISK = sla_title(AlertKind.SLA_AT_RISK, "resolution")
ENGLISH = "Ticket FD-000123 missed its first-response target"
CHINESE = "工单 FD-000123 已超出首次响应时限"


async def switch_language(page: Page, lang: str) -> None:
    await page.locator(f"nav.fd-shell .fd-lang-switch button[value={lang}]").click()


async def bell_label(page: Page) -> str | None:
    return await page.locator("#fd-alerts-bell").get_attribute("aria-label")


async def test_a_supervisor_sees_the_count_reads_the_alert_in_both_languages_and_it_becomes_read(
    tmp_path: Path, browser: Browser
) -> None:
    app = create_app(Settings(var_dir=tmp_path, rasa_url="http://127.0.0.1:9", kb=FAST_KB))
    async with serving(app) as url:
        await app[STAFF].add("sam", "pw", [Role.SUPERVISOR], "Sam")
        await app[STAFF].add("ann", "pw", [Role.AGENT], "Ann")
        alerts = app[ALERTS]
        await alerts.add(["ann"], AlertKind.SLA_AT_RISK, AT_RISK, {"number": "FD-000007"}, "/console/tickets/FD-000007")
        link = "/console/tickets/FD-000123"
        await alerts.add([SUPERVISORS], AlertKind.SLA_BREACHED, BREACHED, {"number": "FD-000123"}, link)

        page = await (await browser.new_context(locale="en-US")).new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{url}/staff")
        await page.fill("#username", "sam")
        await page.fill("#password", "pw")
        await page.click("#login")
        await page.wait_for_url(f"{url}/console/supervisor")

        bell, count, panel = (
            page.locator("#fd-alerts-bell"),
            page.locator("#fd-alerts-count"),
            page.locator("#fd-alerts-panel"),
        )
        await count.filter(has_text="1").wait_for()
        assert await bell_label(page) == "Alerts: 1 unread"
        await switch_language(page, "zh")
        await page.locator("#fd-alerts-bell[title='提醒：1 条未读']").wait_for()
        assert await page.evaluate(ILLEGIBLE) == []  # the count on the bar
        await page.screenshot(path=tmp_path / "bell-zh.png")

        await bell.click()  # opening the list marks what it shows read
        items = panel.locator("li.fd-alert")
        await items.locator(".fd-alert-title", has_text=CHINESE).wait_for()
        await count.wait_for(state="hidden")
        assert await items.count() == 1  # ann's alert is not sam's
        assert await items.locator("a").get_attribute("href") == link
        assert await panel.locator(".fd-alerts-head", has_text="提醒").count() == 1
        assert await page.evaluate(ILLEGIBLE) == []
        await page.screenshot(path=tmp_path / "alerts-zh.png")
        assert await alerts.unread_count("sam", SUPERVISOR_ROLES) == 0
        assert await alerts.unread_count("ann", ["agent"]) == 1

        await page.keyboard.press("Escape")
        await panel.wait_for(state="hidden")
        await switch_language(page, "en")
        await page.locator("#fd-alerts-bell[title='Alerts']").wait_for()
        await bell.click()
        await items.locator(".fd-alert-title", has_text=ENGLISH).wait_for()
        assert await panel.locator("li.fd-alert-unread").count() == 0  # read on the last opening
        assert await page.evaluate(ILLEGIBLE) == []
        await page.screenshot(path=tmp_path / "alerts-en.png")
        await page.mouse.click(5, 300)  # a click elsewhere closes the list
        await panel.wait_for(state="hidden")

        # A new alert shows on the next poll (asked for at once here) and after a reload, the old one stays read.
        await alerts.add([SUPERVISORS], AlertKind.SLA_AT_RISK, AT_RISK, {"number": "FD-000124"})
        await page.evaluate("window.fdAlerts.refresh()")
        await count.filter(has_text="1").wait_for()
        await page.reload()
        await count.filter(has_text="1").wait_for()
        await bell.click()
        await panel.locator("li.fd-alert-unread .fd-alert-title", has_text="Ticket FD-000124").wait_for()
        assert await items.count() == 2
        await count.wait_for(state="hidden")
        assert errors == []
