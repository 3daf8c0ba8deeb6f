"""FAQ answers written in Markdown show in the widget as formatted text, and hostile Markdown — from an editor, or a
customer's words the bot echoes — shows as words: no script runs, no foreign link or image appears."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser

from bot.keys import PIPELINE
from conversations.models import Sender
from conversations.store import MessageDraft
from tests.widget.browser import Widget, record_dialogs

pytestmark = pytest.mark.browser

ANSWERS = {
    "en": "**Returns** are free within *7 days*.\n\n1. Print the label\n2. Drop the parcel off\n\n"
    "See [the returns policy](https://shop.example/returns).",
    "zh": "**退货**在 *7 天* 内免费。\n\n1. 打印退货标签\n2. 寄出包裹\n\n详见[退货政策](https://shop.example/returns)。",
}
HOSTILE = (
    "**bold** <script>alert(1)</script> <img src=x onerror=alert(2)> [click](javascript:alert(3)) "
    "[tab](java&#x09;script:alert(4)) <javascript:alert(5)> ![pixel](https://tracker.example/p.png) "
    '<a href="javascript:alert(6)">raw</a> [ok](https://shop.example/ok)'
)


async def test_hostile_markdown_a_customer_typed_and_the_bot_echoed_stays_inert(
    browser: Browser, site: str, frontdoor: TestServer
) -> None:
    page = await browser.new_page(locale="en-US")
    dialogs = record_dialogs(page)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    await page.goto(site)
    widget = Widget(page)
    await widget.open()
    await widget.say(HOSTILE)
    await widget.wait_for_replies(1)
    mine = widget.items("customer").first.locator(".bubble")
    assert await mine.inner_text() == HOSTILE  # the customer's own words, as typed
    echo = widget.items("bot").first.locator(".bubble")
    assert await echo.locator("strong").inner_text() == "bold"
    links = echo.locator("a[href]")
    assert await links.count() == 1
    assert await links.first.get_attribute("href") == "https://shop.example/ok"
    assert await links.first.get_attribute("target") == "_blank"
    assert "noopener" in (await links.first.get_attribute("rel") or "")
    shown = await echo.inner_text()
    assert "<script>alert(1)</script>" in shown and "<img src=x onerror=alert(2)>" in shown
    for tag in ("script", "img", "iframe", "svg"):
        assert await page.locator(f"frontdoor-widget .log {tag}").count() == 0
    await page.wait_for_timeout(300)  # give a handler that slipped through the time to fire
    assert dialogs == []
    assert not [url for url in requests if "tracker.example" in url or url.endswith("/x")]


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_an_faq_answer_in_markdown_shows_formatted(
    browser: Browser, site: str, frontdoor: TestServer, language: str, tmp_path: Path
) -> None:
    locale = "zh-CN" if language == "zh" else "en-US"
    page = await browser.new_page(locale=locale, viewport={"width": 900, "height": 720})
    await page.goto(site)
    widget = Widget(page)
    await widget.open()
    await widget.say("returns?" if language == "en" else "怎么退货？")
    await widget.wait_for_replies(1)
    conversation_id = await widget.conversation_id(frontdoor)
    await frontdoor.app[PIPELINE].post_notice(conversation_id, [MessageDraft(Sender.BOT, ANSWERS[language])])
    await widget.wait_for_replies(2)
    answer = widget.items("bot").nth(1).locator(".bubble")
    assert await answer.locator("strong").inner_text() == ("Returns" if language == "en" else "退货")
    assert await answer.locator("em").count() == 1
    assert await answer.locator("ol > li").count() == 2
    assert await answer.locator("a").get_attribute("href") == "https://shop.example/returns"
    assert "**" not in await answer.inner_text()
    await page.screenshot(path=tmp_path / f"widget-markdown-{language}.png")


async def test_the_demo_page_shows_answers_formatted_and_hostile_markdown_as_words(
    browser: Browser, frontdoor: TestServer
) -> None:
    page = await browser.new_page(locale="en-US")
    dialogs = record_dialogs(page)
    await page.goto(str(frontdoor.make_url("/")))
    await page.locator("#status", has_text="Connected").wait_for()
    await page.fill("#text", HOSTILE)
    await page.click("#send")
    echo = page.locator("#log li.bot .bubble", has_text="echo:").first
    await echo.wait_for()
    assert await page.locator("#log li.customer .bubble").first.inner_text() == HOSTILE
    assert await echo.locator("strong").inner_text() == "bold"
    assert [await a.get_attribute("href") for a in await echo.locator("a[href]").all()] == ["https://shop.example/ok"]
    for tag in ("script", "img", "iframe", "svg"):
        assert await page.locator(f"#log {tag}").count() == 0

    conversation_id = await page.evaluate("() => localStorage.getItem('fd_conversation')")
    await frontdoor.app[PIPELINE].post_notice(conversation_id, [MessageDraft(Sender.BOT, ANSWERS["en"])])
    answer = page.locator("#log li.bot .bubble", has_text="Returns").first
    await answer.wait_for()
    assert await answer.locator("strong").inner_text() == "Returns"
    assert await answer.locator("ol > li").count() == 2
    assert await answer.locator("a").get_attribute("href") == "https://shop.example/returns"
    await page.wait_for_timeout(300)  # give a handler that slipped through the time to fire
    assert dialogs == []
