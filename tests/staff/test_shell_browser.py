"""The page shell in a real Chromium, as each role: the navigation offers exactly the member's pages, every page
answers without a script error, the language switch works, and no label is drawn in its own background colour."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page

from bot.settings import Settings
from server.app import create_app
from staff.auth import Role
from staff.keys import STAFF
from tests.conftest import serving
from tests.kb.editor_support import FAST_KB
from tests.widget.browser import TIMEOUT_MS, chromium

pytestmark = pytest.mark.browser

ACCOUNTS = {"ann": Role.AGENT, "sam": Role.SUPERVISOR, "eve": Role.EDITOR}
EXPECTED_PAGES = {
    "ann": ["/console", "/console/tickets"],
    "sam": ["/console", "/console/tickets", "/console/supervisor", "/console/teams", "/console/analytics"],
    "eve": ["/editor"],
}

# Every element that shows text of its own, with the contrast ratio (WCAG 2) of its colour on the first opaque
# background behind it. A label under 3:1 is as good as invisible (the editor's active tab was white on white).
ILLEGIBLE = """
() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const bad = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!own || box.width === 0 || box.height === 0 || style.visibility === "hidden") continue;
    const [a, b] = [lum(rgb(style.color).slice(0, 3)), lum(background(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 3) bad.push(`${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return bad;
}
"""


async def log_in(page: Page, url: str, username: str) -> None:
    await page.goto(f"{url}/staff")
    await page.fill("#username", username)
    await page.fill("#password", "pw")
    await page.click("#login")


@pytest.mark.parametrize("username", sorted(ACCOUNTS))
async def test_each_role_sees_its_pages_legibly_in_both_languages(tmp_path: Path, username: str) -> None:
    app = create_app(Settings(var_dir=tmp_path, rasa_url="http://127.0.0.1:9", kb=FAST_KB))
    async with serving(app) as url, chromium() as browser:
        for name, role in ACCOUNTS.items():
            await app[STAFF].add(name, "pw", [role], name.title())
        page = await (await browser.new_context(locale="en-US")).new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await log_in(page, url, username)
        home = "/console/supervisor" if username == "sam" else EXPECTED_PAGES[username][0]
        await page.wait_for_url(f"{url}{home}")
        for path in EXPECTED_PAGES[username]:
            await page.goto(f"{url}{path}")
            nav = page.locator("nav.fd-shell")
            await nav.wait_for()
            links = [await a.get_attribute("href") for a in await nav.locator(".fd-shell-pages a").all()]
            assert links == EXPECTED_PAGES[username]
            assert await nav.locator("a[aria-current=page]").get_attribute("href") == path
            assert await page.evaluate(ILLEGIBLE) == [], path
            await nav.locator(".fd-lang-switch button[value=zh]").click()
            await nav.locator(".fd-shell-logout", has_text="退出登录").wait_for()
            assert await page.evaluate(ILLEGIBLE) == [], f"{path} in Chinese"
            await nav.locator(".fd-lang-switch button[value=en]").click()
            await nav.locator(".fd-shell-logout", has_text="Log out").wait_for()
        assert errors == []


async def test_a_page_of_another_role_says_so_in_the_shell_in_both_languages(tmp_path: Path) -> None:
    """A 403 is a staff page too: the member's own menu, which role the page is for, and the way home."""
    app = create_app(Settings(var_dir=tmp_path, rasa_url="http://127.0.0.1:9", kb=FAST_KB))
    async with serving(app) as url, chromium() as browser:
        await app[STAFF].add("ann", "pw", [Role.AGENT], "Ann")
        page = await (await browser.new_context(locale="en-US")).new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await log_in(page, url, "ann")
        await page.wait_for_url(f"{url}/console")
        for path, needs in (
            ("/console/teams", "supervisors"),
            ("/console/analytics", "supervisors"),
            ("/editor", "FAQ editors"),
        ):
            response = await page.goto(f"{url}{path}")
            assert response is not None and response.status == 403
            await page.locator("p:visible", has_text=f"This page is for {needs}.").wait_for()
            nav = page.locator("nav.fd-shell")
            await nav.locator(".fd-shell-pages a").first.wait_for()  # the shell draws the menu once /me answers
            links = [await a.get_attribute("href") for a in await nav.locator(".fd-shell-pages a").all()]
            assert links == EXPECTED_PAGES["ann"]
            assert await page.evaluate(ILLEGIBLE) == []
        await nav.locator(".fd-lang-switch button[value=zh]").click()
        await page.locator("p:visible", has_text="此页面仅供 FAQ 编辑使用。").wait_for()
        await page.click("#home")
        await page.wait_for_url(f"{url}/console")
