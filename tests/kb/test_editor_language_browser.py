"""The FAQ editor in Chinese, in a real Chromium: static and script-built texts come from the `staff` catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings
from server.app import create_app
from staff.auth import Role
from staff.keys import STAFF
from tests.conftest import serving
from tests.kb.editor_support import FAST_KB
from tests.widget.browser import TIMEOUT_MS, chromium

pytestmark = pytest.mark.browser


async def test_the_editor_speaks_chinese_to_a_chinese_browser(tmp_path: Path) -> None:
    app = create_app(Settings(var_dir=tmp_path, rasa_url="http://127.0.0.1:9", kb=FAST_KB))
    async with serving(app) as url, chromium() as browser:
        await app[STAFF].add("eve", "pw", [Role.EDITOR])
        context = await browser.new_context(locale="zh-CN")
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{url}/editor")
        await page.fill("#username", "eve")
        await page.fill("#password", "pw")
        await page.click("#login")
        await page.wait_for_url(f"{url}/editor")
        await page.locator("#entries tbody tr").first.wait_for()
        assert await page.inner_text("h1") == "知识库编辑器"
        assert await page.inner_text("#tab-try") == "试一试"
        assert await page.get_attribute("#filter-q", "placeholder") == "搜索问题和答案"
        await page.locator("#list-summary", has_text="共").wait_for()  # built by editor.js with t()
        # An entry's status is a word of the page's language, in the list and above the form (it read "published").
        assert await page.inner_text("#entries tbody tr >> nth=0 >> td >> nth=3") == "已发布"
        await page.click("#entries tbody tr >> nth=0")
        await page.locator("#form-meta", has_text="已发布").wait_for()
        # Its history says what each version did in words of the page's language (the seeded FAQ's read "imported").
        await page.locator("#history li", has_text="已导入").wait_for()
        await page.click("#new-entry")
        assert await page.inner_text("#form-title") == "新建条目"
        assert await page.inner_text("#save-publish") == "保存并发布"
        await page.click(".fd-lang-switch button[value=en]")
        await page.locator("#form-title", has_text="New entry").wait_for()
        assert await page.inner_text("h1") == "FAQ editor"
        assert errors == []
        await context.close()
