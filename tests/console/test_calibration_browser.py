"""The bot learns from its record, in a real Chromium: an agent marks the bot's answer wrong in the console; an
editor opens the calibration report, applies the proposed thresholds; the analytics chart carries the change as an
annotation. Both languages; screenshots go to var/screenshots/ for a person to look at."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page

from bot.keys import RECORD, SERVICE_RECORD
from record import ServiceEvent, ServiceEventKind, agent_actor
from staff.auth import Role
from staff.keys import STAFF
from tests.conftest import scripted_rasa
from tests.console.conftest import PASSWORD, console_app, console_settings, scripted_rasa_turn
from tests.widget.browser import TIMEOUT_MS

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
MARKS = """
() => {
  const option = echarts.getInstanceByDom(document.getElementById("chart-volume")).getOption();
  const line = option.series[0].markLine;
  return line ? line.data.map((d) => d.name) : [];
}
"""


async def rasa_turn(request: web.Request) -> web.Response:
    """A returns question gets a confident KB answer; everything else as the console tests' scripted Rasa."""
    body = await request.json()
    if "return" not in body["message"]:
        return await scripted_rasa_turn(request)
    candidates = [
        {
            "entry_id": "en-returns",
            "question": "How do I return an item?",
            "answer": "Open Orders.",
            "confidence": 0.91,
        },
        {"entry_id": "en-refunds", "question": "When is my refund paid?", "answer": "In 5 days.", "confidence": 0.2},
    ]
    kb = {
        "query": body["message"],
        "language": "en",
        "decision": "answer",
        "confidence": 0.91,
        "candidates": candidates,
    }
    return web.json_response([{"text": "Open Orders and press Return."}, {"custom": {"kb": kb}}])


def history(n: int) -> list[ServiceEvent]:
    """`n` earlier English decisions with agents' verdicts: right above 0.8 confidence, wrong below."""
    events: list[ServiceEvent] = []
    for i in range(n):
        confidence = 0.5 + 0.45 * i / n
        cid = f"past-{i}"
        data = {"kb_decision": "answer", "kb_entry": "en-returns", "kb_confidence": confidence, "kb_seq": 2}
        at = time.time() - 86400 + i
        turn = data | {"kb_runner_up": 0.1}
        events.append(
            ServiceEvent(
                kind=ServiceEventKind.BOT_TURN, at=at, actor="bot", conversation_id=cid, language="en", data=turn
            )
        )
        verdict = {"seq": 2, "label": "right" if confidence >= 0.8 else "wrong"}
        events.append(
            ServiceEvent(
                kind=ServiceEventKind.KB_LABEL, at=at + 60, actor=agent_actor("bob"), conversation_id=cid, data=verdict
            )
        )
    return events


async def logged_in(browser: Browser, url: str, username: str, path: str, language: str) -> Page:
    context = await browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
    await context.add_cookies([{"name": "fd_lang", "value": language, "url": url}])
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{url}{path}")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"{url}{path}")
    return page


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def test_an_agents_label_feeds_the_report_an_editor_applies_it_and_the_chart_shows_it(
    tmp_path: Path, browser: Browser
) -> None:
    async with scripted_rasa(rasa_turn) as rasa_url, console_app(console_settings(tmp_path, rasa_url, "")) as running:
        await running.staff("ann", Role.AGENT, display_name="Ann")
        await running.app[STAFF].add("eve", PASSWORD, (Role.EDITOR, Role.SUPERVISOR), "Eve")
        await running.app[SERVICE_RECORD].append(history(40))
        errors: list[str] = []

        console = await logged_in(browser, running.url, "ann", "/console", "en")
        console.on("pageerror", lambda exc: errors.append(str(exc)))
        await console.wait_for_selector("#conn:text('live')")
        customer = await running.customer("en")
        await customer.say("how do I return my blender")
        await customer.say("human please")
        await console.wait_for_selector(f"#inbox li[data-cid='{customer.conversation_id}']")
        await console.wait_for_selector("#case:not([hidden])")
        answer = console.locator("#transcript li[data-event='kb']", has_text="answer")
        await answer.locator("button[data-label=wrong]").click()
        await answer.locator("button[data-label=wrong][aria-pressed=true]").wait_for()
        await shot(console, "calibration-console-en")
        await console.context.add_cookies([{"name": "fd_lang", "value": "zh", "url": running.url}])
        await console.reload()
        await console.click(f"#inbox li[data-cid='{customer.conversation_id}']")
        answer = console.locator("#transcript li[data-event='kb']", has_text="answer")
        await answer.locator("button[data-label=wrong][aria-pressed=true]", has_text="错误").wait_for()  # kept
        await shot(console, "calibration-console-zh")
        await running.app[RECORD].flush()

        editor = await logged_in(browser, running.url, "eve", "/editor", "en")
        editor.on("pageerror", lambda exc: errors.append(str(exc)))
        await editor.click("#tab-calibration")
        await editor.locator("#calibration-table tbody tr").first.wait_for()
        summary = await editor.text_content("#calibration-summary") or ""
        assert "42 decisions" in summary and "41 with a verdict" in summary, summary
        assert not await editor.is_disabled("#calibration-apply")
        await shot(editor, "calibration-editor-en")
        await editor.click("#calibration-apply")
        await editor.locator("#calibration-result", has_text="analytics charts").wait_for()
        assert await editor.is_visible("#calibration-reset")
        await editor.context.add_cookies([{"name": "fd_lang", "value": "zh", "url": running.url}])
        await editor.reload()
        await editor.click("#tab-calibration")
        await editor.locator("#calibration-source", has_text="由本报告采用").wait_for()
        await shot(editor, "calibration-editor-zh")

        await editor.goto(f"{running.url}/console/analytics")
        await editor.locator("body[data-ready=true]").wait_for()
        assert await editor.evaluate(MARKS) == ["设置已变更"]  # "Setting changed", on today's bar
        await editor.locator("#annotation-list li", has_text="KB thresholds en: answer").wait_for()
        await shot(editor, "calibration-analytics-zh")
        assert errors == []
