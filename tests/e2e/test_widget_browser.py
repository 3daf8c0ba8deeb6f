"""The embeddable widget in a real Chromium, on a page of another origin, against the real stack (Rasa included)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser

from bot.stack import Stack
from bot.widget import create_host_app
from tests.conftest import serving
from tests.e2e.conftest import CJK
from tests.widget.browser import TIMEOUT_MS, Widget, record_dialogs

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ATTRIBUTES = {"title": "Acme help", "color": "rgb(0, 119, 85)", "greeting": "Welcome to Acme! <b>Ask</b> away."}


@pytest.fixture
async def site(stack: Stack) -> AsyncIterator[str]:
    """A customer's website on another origin that embeds the widget with one script tag (and rude CSS)."""
    async with serving(create_host_app(f"{stack.frontdoor_url}/widget.js", ATTRIBUTES)) as url:
        yield url


async def test_a_page_on_another_origin_chats_through_one_script_tag(browser: Browser, site: str) -> None:
    page = await browser.new_page(locale="en-US")
    await page.goto(site)
    widget = Widget(page)
    assert await widget.launcher.get_attribute("aria-expanded") == "false"
    await widget.open()
    assert await page.locator("frontdoor-widget #fd-title").inner_text() == "Acme help"
    greeting = page.locator("frontdoor-widget li.greeting .bubble")
    assert await greeting.inner_text() == ATTRIBUTES["greeting"]  # shown literally, not as markup
    await widget.say("Hello there")
    replies = await widget.wait_for_replies(1)
    assert replies and not CJK.search(" ".join(replies))
    assert await widget.items("customer").first.locator(".bubble").inner_text() == "Hello there"
    # The host page's rude CSS (red, Comic Sans, display:none) never reaches inside the shadow root.
    bubble = widget.items("customer").first.locator(".bubble")
    style = await bubble.evaluate("e => { const s = getComputedStyle(e); return [s.color, s.fontFamily, s.display]; }")
    assert style[0] != "rgb(255, 0, 0)" and "Comic" not in style[1] and style[2] != "none"
    accent = await widget.launcher.evaluate("e => getComputedStyle(e).backgroundColor")
    assert accent == "rgb(0, 119, 85)"  # data-color applied


async def test_a_reload_and_a_new_tab_resume_the_conversation_with_its_history(browser: Browser, site: str) -> None:
    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    await page.goto(site)
    widget = Widget(page)
    await widget.open()
    await widget.say("hello")
    await widget.wait_for_replies(1)
    seqs = await widget.log.locator("li[data-seq]").evaluate_all("items => items.map(i => i.dataset.seq)")

    await page.reload()
    reloaded = Widget(page)
    await reloaded.input.wait_for(state="visible", timeout=TIMEOUT_MS)  # the panel stays open across a reload
    await reloaded.items("bot").first.wait_for(timeout=TIMEOUT_MS)
    assert await reloaded.items("customer").first.locator(".bubble").inner_text() == "hello"
    assert await reloaded.log.locator("li[data-seq]").evaluate_all("items => items.map(i => i.dataset.seq)") == seqs

    tab = Widget(await context.new_page())
    await tab.page.goto(site)
    await tab.open()
    await tab.items("customer").first.wait_for(timeout=TIMEOUT_MS)
    assert await tab.items("customer").first.locator(".bubble").inner_text() == "hello"
    await tab.say("thanks a lot")
    await tab.wait_for_replies(2)
    await widget.items("customer").nth(1).wait_for(timeout=TIMEOUT_MS)  # the first tab sees it live
    await context.close()


async def test_hostile_text_is_shown_literally_and_never_runs(browser: Browser, site: str) -> None:
    page = await browser.new_page(locale="en-US")
    dialogs = record_dialogs(page)
    await page.goto(site)
    widget = Widget(page)
    await widget.open()
    hostile = ["<img src=x onerror=alert(1)>", "<script>alert(2)</script>"]
    for text in hostile:
        await widget.say(text)
    await widget.items("customer").nth(1).wait_for(timeout=TIMEOUT_MS)
    await widget.wait_for_replies(2)
    assert [t.strip() for t in await widget.items("customer").locator(".bubble").all_inner_texts()] == hostile
    assert await page.locator("frontdoor-widget img, frontdoor-widget script").count() == 0
    assert await page.locator("img, script:not([src])").count() == 0
    assert dialogs == []


async def test_a_chinese_browser_gets_the_chinese_interface(browser: Browser, site: str) -> None:
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    await page.goto(site)
    widget = Widget(page)
    assert await widget.launcher.get_attribute("aria-label") == "打开在线客服"
    await widget.open()
    assert await widget.input.get_attribute("placeholder") == "请输入消息…"
    assert await page.locator("frontdoor-widget button.send").inner_text() == "发送"
    await widget.say("你好")
    assert CJK.search(" ".join(await widget.wait_for_replies(1)))
    await context.close()


async def test_the_widget_works_from_the_keyboard_and_announces_the_log(browser: Browser, site: str) -> None:
    page = await browser.new_page(locale="en-US")
    await page.goto(site)
    widget = Widget(page)
    await widget.launcher.focus()
    await page.keyboard.press("Enter")
    await widget.input.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert (await widget.active_element())["tag"] == "input"  # focus moves into the chat
    assert await widget.launcher.get_attribute("aria-expanded") == "true"
    assert await widget.log.get_attribute("role") == "log" and await widget.log.get_attribute("aria-live") == "polite"
    assert await page.locator("frontdoor-widget label[for=fd-text]").inner_text() == "Message"
    assert await page.locator("frontdoor-widget .panel").get_attribute("aria-labelledby") == "fd-title"
    await page.keyboard.press("Escape")
    await widget.panel.wait_for(state="hidden", timeout=TIMEOUT_MS)
    assert (await widget.active_element())["cls"] == "launcher"  # focus returns to the launcher
    assert await widget.launcher.get_attribute("aria-expanded") == "false"


async def test_on_a_phone_the_chat_fills_the_screen(browser: Browser, site: str) -> None:
    page = await browser.new_page(locale="en-US", viewport={"width": 375, "height": 667}, is_mobile=True)
    await page.goto(site)
    widget = Widget(page)
    await widget.open()
    box = await widget.panel.bounding_box()
    assert box is not None
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 375, 667)


async def test_asking_for_a_human_shows_the_handoff_notice(browser: Browser, site: str) -> None:
    page = await browser.new_page(locale="en-US")
    await page.goto(site)
    widget = Widget(page)
    await widget.open()
    await widget.say("I want to talk to a human agent")
    notice = widget.items("system").first
    await notice.wait_for(timeout=TIMEOUT_MS)
    assert (await notice.locator(".bubble").inner_text()).strip()
