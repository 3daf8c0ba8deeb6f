"""The FAQ editor in a real Chromium: an editor logs in, writes and publishes an entry, and 'try it' finds it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.keys import KB
from bot.settings import Settings
from server.app import create_app
from staff.auth import Role
from staff.keys import STAFF
from tests.conftest import serving
from tests.kb.editor_support import FAST_KB
from tests.widget.browser import TIMEOUT_MS, chromium

pytestmark = pytest.mark.browser


async def test_an_editor_publishes_an_entry_and_try_it_answers_a_paraphrase_with_it(tmp_path: Path) -> None:
    app = create_app(Settings(var_dir=tmp_path, rasa_url="http://127.0.0.1:9", kb=FAST_KB))
    async with serving(app) as url, chromium() as browser:
        await app[STAFF].add("eve", "pw", [Role.EDITOR])
        page = await browser.new_page(locale="en-US")
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "response",
            lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None,
        )

        await page.goto(f"{url}/editor")
        assert "/login" in page.url  # not logged in: sent to the login page, and back afterwards
        await page.fill("#username", "eve")
        await page.fill("#password", "pw")
        await page.click("#login")
        await page.wait_for_url(f"{url}/editor")
        await page.locator("#entries tbody tr").first.wait_for()  # the starter FAQ is listed

        await page.click("#new-entry")
        await page.fill("#f-question", "Do you ship to Iceland?")
        await page.fill(
            "#f-paraphrases", "Can I get my order delivered in Reykjavik?\nIs shipping to Iceland possible?"
        )
        await page.fill("#f-answer", "Yes! Delivery to **Iceland** takes 5-8 working days. <b>not bold</b>")
        await page.select_option("#f-language", "en")
        await page.fill("#f-category", "delivery")
        await page.locator("#f-preview strong").wait_for()  # the server-rendered, sanitised preview
        assert await page.locator("#f-preview b").count() == 0
        await page.click("#save-publish")
        await page.locator("#form-meta", has_text="published").wait_for()
        entry_id = (await page.locator("#form-meta").inner_text()).split(" · ")[0]
        assert app[KB].indexed(entry_id) is not None

        await page.click("#tab-try")
        await page.fill("#try-query", "is shipping to iceland possible")
        await page.click("#try-go")
        first = page.locator("#try-candidates tbody tr").first
        await first.wait_for()
        assert await first.get_attribute("data-id") == entry_id
        assert await first.locator("td").first.inner_text() == "Do you ship to Iceland?"
        assert await page.locator("#try-decision").inner_text() in ("answer", "clarify")
        why = await page.locator("#try-explanation").inner_text()
        assert why.startswith(("Answered: confidence", "Clarify: confidence")) and "Thresholds" in why
        await page.locator("nav.fd-shell .fd-lang-switch button[value=zh]").click()
        await page.click("#try-go")  # asked again: the decision and why in Chinese
        await page.locator("#try-decision", has_text=re.compile("^(回答|澄清)$")).wait_for()
        assert "阈值" in await page.locator("#try-explanation").inner_text()
        assert "Iceland" in await page.locator("#try-answer").inner_text()
        assert float(await page.locator("#try-confidence").inner_text()) > 0
        assert errors == []
