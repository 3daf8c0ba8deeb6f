"""Staff pages in both languages, in a real browser: the browser's language is the default, the EN / 中文 switch
changes it at once (static and script-built texts alike) and the `fd_lang` cookie keeps it across pages."""

from __future__ import annotations

import re

import aiohttp
import pytest
from playwright.async_api import Browser

from staff.auth import Role
from tests.console.conftest import PASSWORD, Running
from tests.widget.browser import TIMEOUT_MS

pytestmark = pytest.mark.browser


@pytest.fixture(params=["memory"])
def backend(request: pytest.FixtureRequest) -> str:
    return ""


async def test_a_chinese_browser_gets_the_login_page_in_chinese(running: Running, browser: Browser) -> None:
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{running.url}/login?error=1")
    await page.locator("h1", has_text="员工登录").wait_for()
    assert await page.inner_text("#login") == "登录"
    assert await page.inner_text("#error") == "用户名或密码错误。"
    assert await page.get_attribute("html", "lang") == "zh-CN"
    await context.close()


async def test_the_switch_changes_the_language_and_the_cookie_keeps_it(running: Running, browser: Browser) -> None:
    await running.staff("ann", Role.AGENT, display_name="Ann")
    customer = await running.customer("zh")
    await customer.say("我要转人工")
    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{running.url}/console")
    await page.locator("h1", has_text="Staff login").wait_for()
    await page.click(".fd-lang-switch button[value=zh]")
    await page.locator("h1", has_text="员工登录").wait_for()
    assert {"name": "fd_lang", "value": "zh"}.items() <= next(
        c for c in await context.cookies() if c["name"] == "fd_lang"
    ).items()

    await page.fill("#username", "ann")
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"{running.url}/console")
    await page.wait_for_selector("#conn:text('已连接')")  # built by console.js with t()
    assert await page.inner_text("#pull-next") == "接入下一个"  # marked data-i18n in the HTML
    assert await page.get_attribute("#reply", "placeholder") == "回复客户"
    assert await page.inner_text("#canned option[value=greeting]") == "问候"  # a title defined in Python
    assert await page.get_attribute(".fd-lang-switch button[value=zh]", "aria-pressed") == "true"
    await page.locator("#inbox li").first.click()  # the chat handed to Ann: its state and history in Chinese too
    trigger = page.locator("#handoff-events li[data-kind='trigger']")
    await trigger.wait_for()
    assert "转人工：客户要求人工" in await trigger.inner_text()
    assert await page.inner_text("#case-state") == "已分配"

    await page.click(".fd-lang-switch button[value=en]")
    await page.locator("#pull-next", has_text="Pull next").wait_for()
    assert await page.inner_text("#conn") == "live"
    await page.click("#pull-next")
    await page.locator("#flash", has_text="Nothing waiting for you.").wait_for()
    assert await page.get_attribute("#reply", "placeholder") == "Reply to the customer"
    assert errors == []
    await context.close()


async def test_the_supervisor_view_follows_the_language_cookie(running: Running, browser: Browser) -> None:
    await running.staff("sam", Role.AGENT, Role.SUPERVISOR, display_name="Sam")
    customer = await running.customer("zh")
    await customer.say("我要转人工")  # a normal chat: 24 hours to a first reply
    context = await browser.new_context(locale="en-US")
    await context.add_cookies([{"name": "fd_lang", "value": "zh", "url": running.url}])
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    await page.goto(f"{running.url}/console/supervisor")
    await page.fill("#username", "sam")
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"{running.url}/console/supervisor")
    await page.wait_for_selector("#conn:text('已连接')")
    assert await page.inner_text("h1") == "主管视图"
    assert await page.inner_text("thead th >> nth=0") == "队列"
    # Its deadline reads h:mm:ss and its priority is a word of the page's language (they read "1439:59", "normal").
    waiting = page.locator("#waiting tr").first
    await waiting.wait_for()
    assert await waiting.locator("td >> nth=2").inner_text() == "普通"
    # Its queue and why it was handed off read as words too (they read "zh:general", "customer_request").
    assert await waiting.locator("td >> nth=1").inner_text() == "中文 · 通用"
    assert await waiting.locator("td >> nth=3").inner_text() == "客户要求人工"
    assert re.fullmatch(r"剩余 2[34]:\d\d:\d\d", await waiting.locator("td >> nth=4").inner_text())
    # A day later it is overdue by an hour or so: said in words, without a minus sign (it read "已超时 -1:00:00").
    await page.evaluate("() => { const real = Date.now; Date.now = () => real() + 25 * 3600 * 1000; }")
    await waiting.locator("td >> nth=4", has_text="已超时").wait_for()
    assert re.fullmatch(r"已超时 [01]:\d\d:\d\d", await waiting.locator("td >> nth=4").inner_text())
    # A new handoff shows: the page follows the shell's console socket (its one socket) for events.
    await page.evaluate(
        """() => { window.seen = [];
          document.addEventListener("fd:console-socket", (e) => e.detail.frame && seen.push(e.detail.frame.topic)); }"""
    )
    await (await running.customer("en")).say("I want a human")
    await page.wait_for_function("() => window.seen.includes('handoff')")
    await page.locator("#waiting tr >> nth=1").wait_for()
    assert len(sockets) == 1 and sockets[0].endswith("/api/v1/console/ws")
    assert errors == []
    await context.close()


async def test_a_locked_out_login_says_how_long_to_wait_in_chinese(running: Running, browser: Browser) -> None:
    await running.staff("ann", Role.AGENT)
    async with aiohttp.ClientSession(base_url=running.url) as guesser:
        for _ in range(5):  # FD_LIMITS_LOGIN_FAILURES_PER_ACCOUNT's default: 5 in 15 minutes
            async with guesser.post("/login", data={"username": "ann", "password": "guess"}, allow_redirects=False):
                pass
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{running.url}/login")
    await page.fill("#username", "ann")
    await page.fill("#password", PASSWORD)  # the right password: still refused while locked
    async with page.expect_response(f"{running.url}/login") as answer:
        await page.click("#login")
    assert (await answer.value).status == 429
    await page.locator("#error", has_text="登录失败次数过多").wait_for()
    assert await page.inner_text("#error") == "登录失败次数过多，请 15 分钟后再试。"
    await context.close()
