"""The demo chat page at `/` in a real Chromium against the real stack: a person chats in English and Chinese."""

from __future__ import annotations

import re

import pytest
import yaml
from playwright.async_api import Browser, Page

from bot.stack import Stack
from kb.service import STARTER_FAQ
from tests.e2e.conftest import CJK
from tests.widget.browser import TIMEOUT_MS

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


async def say(page: Page, text: str, replies_before: int) -> str:
    await page.fill("#text", text)
    await page.click("#send")
    bot_items = page.locator("#log li.bot[data-seq]")  # the greeting is not a message
    await bot_items.nth(replies_before).wait_for(timeout=TIMEOUT_MS)
    return await bot_items.nth(replies_before).inner_text()


async def test_a_person_chats_in_english_then_in_chinese(browser: Browser, stack: Stack) -> None:
    page = await browser.new_page(locale="en-US")
    await page.goto(stack.frontdoor_url + "/")
    await page.locator("#status").filter(has_text="Connected").wait_for(timeout=TIMEOUT_MS)
    english = await say(page, "Hello!", 0)
    assert english and not CJK.search(english)
    count = await page.locator("#log li.bot[data-seq]").count()
    chinese = await say(page, "你好", count)
    assert CJK.search(chinese)
    assert await page.locator("#log li.customer .bubble").first.inner_text() == "Hello!"


async def test_the_demo_page_speaks_chinese_to_a_chinese_browser_and_renders_text_inert(
    browser: Browser, stack: Stack
) -> None:
    page = await browser.new_page(locale="zh-CN")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await page.goto(stack.frontdoor_url + "/")
    # The page's texts arrive with the `widget` catalogue (GET /i18n/widget/zh.json), just after the page loads.
    await page.locator("#title", has_text="在线客服").wait_for(timeout=TIMEOUT_MS)
    await page.locator("#status").filter(has_text="已连接").wait_for(timeout=TIMEOUT_MS)
    hostile = "<img src=x onerror=alert(1)>你好"
    await say(page, hostile, 0)
    assert await page.locator("#log li.customer .bubble").first.inner_text() == hostile
    assert await page.locator("#log img").count() == 0 and dialogs == []


async def test_a_common_question_clicked_on_the_demo_page_gets_its_faq_answer_from_the_real_bot(
    browser: Browser, stack: Stack
) -> None:
    page = await browser.new_page(locale="en-US")
    await page.goto(stack.frontdoor_url + "/")
    starters = page.locator("#log li.greeting .buttons button")
    await starters.first.wait_for(timeout=TIMEOUT_MS)
    question = await starters.first.inner_text()
    await starters.first.click()
    assert await page.locator("#log li.customer[data-seq] .bubble").first.inner_text(timeout=TIMEOUT_MS) == question
    answer = page.locator("#log li.bot[data-seq] .bubble").first
    await answer.wait_for(timeout=TIMEOUT_MS)
    # The stack's FAQ is the seeded one: the question's own entry answers it, its Markdown shown formatted (the
    # words without the marks and link targets).
    seeded = {e["question"]: e["answer"] for e in yaml.safe_load(STARTER_FAQ.read_text(encoding="utf-8"))["entries"]}
    words = re.sub(r"\]\([^)]*\)|[*_`\[\]]", "", seeded[question]).split()
    assert (await answer.inner_text()).split() == words
