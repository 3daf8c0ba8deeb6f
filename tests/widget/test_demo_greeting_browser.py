"""The demo chat page at `/` opens with a greeting and a few common questions, in English and in Chinese; a
question clicked is the customer's message and the FAQ's answer comes back (a scripted Rasa answers from the KB)."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Locator

from bot.keys import KB
from tests.widget.browser import TIMEOUT_MS, Widget, chromium
from tests.widget.conftest import frontdoor_answering

pytestmark = pytest.mark.browser

# FD_SCREENSHOTS=<folder> keeps a picture of each language's opened page there, to look at.
SCREENSHOTS = os.environ.get("FD_SCREENSHOTS")


@pytest.fixture
async def faq_frontdoor(tmp_path: Path) -> AsyncIterator[TestServer]:
    """The front door with a Rasa stand-in that answers a published FAQ question with its entry's answer, the way
    `action_answer_from_kb` would for an exact match, and anything else with an echo."""
    apps: list[web.Application] = []

    async def turn(request: web.Request) -> web.Response:
        message = (await request.json())["message"]
        for language in ("en", "zh"):
            for entry in await apps[0][KB].store.published(language):
                if entry.question == message:
                    return web.json_response([{"text": entry.answer}])
        return web.json_response([{"text": f"echo: {message}"}])

    async with frontdoor_answering(tmp_path, turn) as server:
        apps.append(server.app)
        yield server


@pytest.fixture
async def browser(faq_frontdoor: TestServer) -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def greeted(
    item: Locator, buttons_css: str, greeting: str, published: dict[str, str]
) -> tuple[Locator, list[str]]:
    """The greeting `item` says `greeting` and offers four of the `published` questions: (their buttons, texts)."""
    assert await item.locator(".bubble").inner_text(timeout=TIMEOUT_MS) == greeting
    buttons = item.locator(buttons_css)
    await buttons.nth(3).wait_for(timeout=TIMEOUT_MS)
    questions = await buttons.all_inner_texts()
    assert len(questions) == 4 and all(q in published for q in questions)
    return buttons, questions


@pytest.mark.parametrize(
    ("locale", "greeting", "connected"),
    [("en-US", "Hi! How can we help you today?", "Connected"), ("zh-CN", "您好！请问有什么可以帮您？", "已连接")],
)
async def test_the_demo_page_greets_and_a_common_question_gets_its_answer(
    faq_frontdoor: TestServer, browser: Browser, locale: str, greeting: str, connected: str
) -> None:
    language = locale[:2]
    published = {e.question: e.answer for e in await faq_frontdoor.app[KB].store.published(language)}
    context = await browser.new_context(locale=locale, viewport={"width": 640, "height": 720})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(str(faq_frontdoor.make_url("/")))
    await page.locator("#status").filter(has_text=connected).wait_for(timeout=TIMEOUT_MS)
    buttons, questions = await greeted(page.locator("#log li.bot.greeting"), ".buttons button", greeting, published)
    # The greeting is the page's own: nothing was stored or sent.
    assert await page.locator("#log li[data-seq]").count() == 0
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/demo-greeting-{language}.png")

    await buttons.nth(1).click()
    customer = page.locator("#log li.customer[data-seq] .bubble")
    assert await customer.first.inner_text(timeout=TIMEOUT_MS) == questions[1]
    answer = page.locator("#log li.bot[data-seq] .bubble")
    # The FAQ's Markdown answer, shown formatted (rich.js): its words without the Markdown's marks and link targets.
    words = re.sub(r"\]\([^)]*\)|[*_`\[\]]", "", published[questions[1]]).split()
    assert (await answer.first.inner_text(timeout=TIMEOUT_MS)).split() == words
    assert await buttons.nth(0).is_disabled()

    # Typed text stays inert, as before.
    hostile = "<img src=x onerror=alert(1)>hi"
    await page.fill("#text", hostile)
    await page.click("#send")
    await customer.nth(1).wait_for(timeout=TIMEOUT_MS)
    assert await customer.nth(1).inner_text() == hostile
    assert await page.locator("#log img").count() == 0
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/demo-answered-{language}.png")

    # A reload of the same conversation shows its history, not a second greeting.
    await page.reload()
    await page.locator("#log li.customer[data-seq]").nth(1).wait_for(timeout=TIMEOUT_MS)
    assert await page.locator("#log li.greeting").count() == 0
    assert errors == []
    await context.close()


@pytest.mark.parametrize(
    ("query", "greeting"), [("lang=zh", "您好！请问有什么可以帮您？"), ("greeting=Hello+from+Acme", "Hello from Acme")]
)
async def test_the_widget_offers_the_same_common_questions_under_its_greeting(
    faq_frontdoor: TestServer, browser: Browser, query: str, greeting: str
) -> None:
    language = "zh" if "zh" in query else "en"
    published = {e.question: e.answer for e in await faq_frontdoor.app[KB].store.published(language)}
    page = await browser.new_page(locale="en-US")
    await page.goto(str(faq_frontdoor.make_url("/widget/demo")) + "?" + query)
    widget = Widget(page)
    await widget.open()
    item = page.locator("frontdoor-widget ol.log li.greeting")
    buttons, questions = await greeted(item, ".starters button", greeting, published)
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/widget-greeting-{language}.png")
    await buttons.nth(2).click()
    customer = widget.items("customer").locator(".bubble")
    assert await customer.first.inner_text(timeout=TIMEOUT_MS) == questions[2]
    # The widget shows the answer's Markdown as HTML: its first words are enough.
    answer = await widget.items("bot").locator(".bubble").first.inner_text(timeout=TIMEOUT_MS)
    assert answer[:4] == published[questions[2]][:4]
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/widget-answered-{language}.png")
