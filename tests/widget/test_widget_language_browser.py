"""The widget in Chinese, in a real browser: its texts come from the `widget` catalogue embedded in /widget.js."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser

from tests.widget.browser import TIMEOUT_MS, Widget

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("query", "locale", "title", "send"),
    [
        ("lang=zh", "en-US", "在线客服", "发送"),
        ("", "zh-CN", "在线客服", "发送"),
        ("", "en-US", "Customer service", "Send"),
    ],
)
async def test_the_widget_speaks_the_chosen_or_the_browsers_language(
    frontdoor: TestServer, browser: Browser, query: str, locale: str, title: str, send: str
) -> None:
    context = await browser.new_context(locale=locale)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(str(frontdoor.make_url("/widget/demo")) + ("?" + query if query else ""))
    widget = Widget(page)
    await widget.open()
    assert await page.locator("frontdoor-widget header h2").inner_text(timeout=TIMEOUT_MS) == title
    assert await page.locator("frontdoor-widget form button").inner_text() == send
    assert errors == []
    await context.close()
