"""Browser plumbing shared by the browser tests: Debian's Chromium and the embedded widget as a customer sees it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Dialog, Locator, Page, Playwright, async_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 20_000


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    playwright: Playwright
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


def record_dialogs(page: Page) -> list[str]:
    """Dismisses every alert/confirm the page opens and returns the live list of their messages (injected script
    that ran would show up here)."""
    dialogs: list[str] = []

    async def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", dismiss)
    return dialogs


class Widget:
    """The embedded widget as a customer sees it; Playwright's CSS locators pierce its open shadow root."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.launcher = page.locator("frontdoor-widget .launcher")
        self.panel = page.locator("frontdoor-widget .panel")
        self.input = page.locator("frontdoor-widget #fd-text")
        self.log = page.locator("frontdoor-widget ol.log")

    def items(self, sender: str) -> Locator:
        return self.page.locator(f"frontdoor-widget ol.log li.{sender}[data-seq]")

    async def open(self) -> None:
        if not await self.panel.is_visible():
            await self.launcher.click()
        await self.input.wait_for(state="visible", timeout=TIMEOUT_MS)

    async def say(self, text: str) -> None:
        await self.input.fill(text)
        await self.input.press("Enter")

    async def wait_for_replies(self, count: int, sender: str = "bot") -> list[str]:
        await self.items(sender).nth(count - 1).wait_for(timeout=TIMEOUT_MS)
        return [t.strip() for t in await self.items(sender).all_inner_texts()]

    async def conversation_id(self, frontdoor: TestServer) -> str | None:
        """The conversation the widget keeps for `frontdoor` in the page's localStorage (None before the first)."""
        origin = str(frontdoor.make_url("")).rstrip("/")
        stored: str | None = await self.page.evaluate(f"() => localStorage.getItem('frontdoor:{origin}:conversation')")
        return stored

    async def start(self, site: str, first: str) -> list[str]:
        """Opens `site` in the page, the widget, and says `first`; returns the bot's first reply, as shown."""
        await self.page.goto(site)
        await self.open()
        await self.say(first)
        return await self.wait_for_replies(1)

    async def active_element(self) -> Any:
        """What has focus inside the widget (the shadow root's active element), as {tag, cls}."""
        return await self.page.evaluate(
            "() => { const a = document.querySelector('frontdoor-widget').shadowRoot.activeElement;"
            " return a ? {tag: a.tagName.toLowerCase(), cls: a.className} : null; }"
        )
