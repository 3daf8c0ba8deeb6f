"""The analytics page in a real Chromium: a supervisor sees every KPI card and chart drawn, in English and in Chinese,
drills into a card, a bar, a pie slice and a table row, follows a drill row to its transcript, keeps filters in the
URL, and downloads a CSV; customer-typed text stays text everywhere.

The analytics API is the test-only stand-in of tests/staff/analytics_fixture.py (a middleware answering the three
/api/v1/analytics/ paths with a report in the contract's shape): the page is tested against the contract."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page

from analytics.settings import AnalyticsConfig
from bot.keys import CONVERSATIONS, DATABASE, INTAKE
from bot.settings import Settings
from conversations.models import Sender
from conversations.store import MessageDraft
from record import SQLServiceRecord
from server.app import create_app
from staff.auth import Role
from staff.keys import STAFF
from tests.analytics.story import Story, bj
from tests.conftest import serving
from tests.kb.editor_support import FAST_KB
from tests.staff.analytics_fixture import BOM, CUSTOMER_TEXT, FixtureApi
from tests.staff.test_shell_browser import ILLEGIBLE, log_in
from tests.widget.browser import TIMEOUT_MS, record_dialogs

pytestmark = pytest.mark.browser

CHARTS = ["chart-volume", "chart-first-response", "chart-resolution", "chart-sla", "chart-csat", "chart-category",
          "chart-handoff"]  # fmt: skip

# Each chart's size on the page and whether ECharts put its "no data" title on it.
CHART_STATE = """
() => Array.from(document.querySelectorAll(".chart")).map((node) => {
  const canvas = node.querySelector("canvas");
  const chart = echarts.getInstanceByDom(node);
  const title = chart ? (chart.getOption().title || []).map((t) => t.text).filter(Boolean) : ["no chart"];
  return { id: node.id, width: canvas ? canvas.width : 0, height: canvas ? canvas.height : 0, empty: title };
})
"""

# Where on the page item `index` of series `series` is drawn (a bar's centre, a point, a pie slice's middle).
ITEM_AT = """
([id, series, index]) => {
  const node = document.getElementById(id);
  node.scrollIntoView({ block: "center" });
  const layout = echarts.getInstanceByDom(node).getModel().getSeriesByIndex(series).getData().getItemLayout(index);
  let x, y;
  if (Array.isArray(layout)) [x, y] = layout;
  else if (layout.r !== undefined) {
    const angle = (layout.startAngle + layout.endAngle) / 2, radius = (layout.r0 + layout.r) / 2;
    [x, y] = [layout.cx + Math.cos(angle) * radius, layout.cy + Math.sin(angle) * radius];
  } else [x, y] = [layout.x + layout.width / 2, layout.y + layout.height / 2];
  const box = node.getBoundingClientRect();
  return [box.left + x, box.top + y];
}
"""

DRILL = "/api/v1/analytics/drill"


async def click_item(page: Page, chart: str, series: int, index: int) -> None:
    x, y = await page.evaluate(ITEM_AT, [chart, series, index])
    await page.mouse.click(x, y)


async def drilled(page: Page, api: FixtureApi, count: int) -> dict[str, str]:
    """The query of the `count`-th drill-down request, once the list shows its rows."""
    for _ in range(100):
        if len(api.asked(DRILL)) >= count:
            break
        await page.wait_for_timeout(100)
    await page.locator("#drill-rows tbody tr").nth(1).wait_for()
    return api.asked(DRILL)[count - 1]


async def charts_drawn(page: Page) -> None:
    states = await page.evaluate(CHART_STATE)
    assert [s["id"] for s in states] == CHARTS
    for state in states:
        assert state["width"] > 100 and state["height"] > 100, state
        assert state["empty"] == [], state


async def test_a_supervisor_reads_drills_down_and_exports_in_both_languages(tmp_path: Path, browser: Browser) -> None:
    app = create_app(Settings(var_dir=tmp_path, rasa_url="http://127.0.0.1:9", kb=FAST_KB))
    api = FixtureApi(dt.datetime.now(ZoneInfo("Asia/Shanghai")).date())
    app.middlewares.append(api.middleware)
    async with serving(app) as url:
        await app[STAFF].add("sam", "pw", [Role.SUPERVISOR], "Sam")
        store = app[CONVERSATIONS]
        customer, _ = await store.customer_for_identity("web", "visitor-1", "en")
        conversation = await store.create_conversation(customer.id, "web", "en")
        await store.append(
            conversation.id,
            [
                MessageDraft(Sender.CUSTOMER, CUSTOMER_TEXT),
                MessageDraft(Sender.BOT, "Let me find a person for you."),
                MessageDraft(Sender.EVENT, custom={"handoff": {"reason": "customer_request"}}),
                MessageDraft(Sender.AGENT, "Hi, this is Ann.", sender_id="ann"),
            ],
        )
        api.conversation_id = conversation.id

        # A browser 19 hours behind the business time zone: the quick ranges still end on Beijing's today.
        context = await browser.new_context(
            locale="en-US",
            timezone_id="Pacific/Pago_Pago",
            viewport={"width": 1400, "height": 900},
            accept_downloads=True,
        )
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        dialogs = record_dialogs(page)
        await log_in(page, url, "sam")
        await page.wait_for_url(f"{url}/console/supervisor")
        await page.locator("nav.fd-shell a[href='/console/analytics']", has_text="Analytics").click()
        await page.wait_for_url(f"{url}/console/analytics")
        await page.locator("body[data-ready=true]").wait_for()

        # Cards: every KPI, its change coloured by `better`, the target mark.
        cards = page.locator("#kpis .kpi")
        assert await cards.count() == len(api.report["kpis"])
        first_response = page.locator(".kpi[data-kpi=first_response_p90]")
        assert await first_response.locator(".kpi-value").text_content() == "1 h 8 min"
        assert await first_response.locator(".kpi-change.bad").text_content() == "▲ +70.8%"
        assert await first_response.locator(".kpi-target.missed").text_content() == "Target ≤ 1 h · missed"
        assert await page.locator(".kpi[data-kpi=containment] .kpi-change.good").text_content() == "▲ +4 pts"
        assert await page.locator(".kpi[data-kpi=conversations] .kpi-value").text_content() == "1,234"
        assert await page.locator(".kpi[data-kpi=kb_helpful_rate] .kpi-value").text_content() == "–"
        await charts_drawn(page)
        # Customer text is text: the KB's question without an answer.
        assert await page.locator("#kb-not-found td", has_text=CUSTOMER_TEXT).count() == 1
        assert await page.locator("#kb-not-found img").count() == 0
        assert await page.evaluate(ILLEGIBLE) == []
        await page.screenshot(path=tmp_path / "analytics-en.png", full_page=True)
        await page.set_viewport_size({"width": 720, "height": 900})  # a narrow window: no sideways scrolling
        await page.wait_for_timeout(200)  # the charts follow the resize
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await page.screenshot(path=tmp_path / "analytics-narrow-en.png", full_page=True)
        await page.set_viewport_size({"width": 1400, "height": 900})
        # A chart's tooltip is HTML: an odd code in it is shown as text too (the smallest bar is the first).
        x, y = await page.evaluate(ITEM_AT, ["chart-handoff", 0, 0])
        await page.mouse.move(x, y)
        tooltip = page.locator("#chart-handoff div", has_text=CUSTOMER_TEXT).last
        await tooltip.wait_for()
        assert await page.locator("#chart-handoff img").count() == 0

        # A card lists what is behind it; a row links to the transcript; the customer's text stays text.
        await first_response.click()
        query = await drilled(page, api, 1)
        assert query["metric"] == "first_response_p90" and query["limit"] == "100" and query["offset"] == "0"
        rows = page.locator("#drill-rows tbody tr")
        assert await rows.count() == 2
        assert await rows.nth(0).locator("td").nth(2).text_content() == CUSTOMER_TEXT
        assert await page.locator("#drill-rows img").count() == 0
        assert await rows.nth(1).locator("a:not(.chat)").get_attribute("href") == "/console/tickets/FD-000123"
        chat = f"/console/conversations/{conversation.id}"
        assert await rows.nth(1).locator("a.chat").get_attribute("href") == chat  # the chat the ticket came from
        await page.screenshot(path=tmp_path / "analytics-drill-en.png", full_page=False)

        # A bar, a stacked SLA segment, a pie slice, a point on the line, a table row.
        await click_item(page, "chart-first-response", 0, 1)
        bucket = await drilled(page, api, 2)
        assert (bucket["metric"], bucket["bucket"]) == ("first_response", "1-4h")
        await click_item(page, "chart-sla", 3, 2)  # resolution, missed, normal
        sla = await drilled(page, api, 3)
        assert (sla["metric"], sla["priority"], sla["clock"], sla["met"]) == ("sla", "normal", "resolution", "false")
        await click_item(page, "chart-category", 0, 1)
        assert (await drilled(page, api, 4))["key"] == "delivery"
        await click_item(page, "chart-volume", 0, 3)
        volume = await drilled(page, api, 5)
        assert (volume["metric"], volume["day"]) == ("volume", api.report["series"]["days"][3])
        await page.locator("#agents tr[data-agent=li]").click()
        agent = await drilled(page, api, 6)
        assert (agent["metric"], agent["agent"]) == ("conversations", "li")
        assert dialogs == []

        # A CSV export with the BOM, for the range shown.
        async with page.expect_download() as download_info:
            await page.locator("a.csv[data-table=kpis]").first.click()
        download = await download_info.value
        body = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")
        assert body.startswith(BOM) and "conversations,1234,1100" in body
        shown = api.report["range"]
        assert download.suggested_filename == f"frontdoor-kpis-{shown['from']}-{shown['to']}.csv"

        # Filters live in the URL: a reload (or a bookmark) opens the same view.
        await page.select_option("#f-channel", "wechat")
        await page.click("#apply")
        await page.wait_for_url("**/console/analytics?*channel=wechat*")
        await page.reload()
        await page.locator("body[data-ready=true]").wait_for()
        assert await page.locator("#f-channel").input_value() == "wechat"
        assert api.asked("/api/v1/analytics/report")[-1]["channel"] == "wechat"
        await page.click(".presets button[data-days='7']")
        await page.wait_for_url("**/console/analytics?*from=*")
        report_query = api.asked("/api/v1/analytics/report")[-1]
        assert report_query["channel"] == "wechat"
        first, last = dt.date.fromisoformat(report_query["from"]), dt.date.fromisoformat(report_query["to"])
        assert last - first == dt.timedelta(days=6)
        assert last == dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()

        # Chinese: the cards, the charts drawn again, numbers in the Chinese way.
        await page.locator("nav.fd-shell .fd-lang-switch button[value=zh]").click()
        await page.locator("#kpis-title", has_text="关键指标").wait_for()
        assert await first_response.locator(".kpi-target.missed").text_content() == "目标 ≤ 1 小时 · 未达成"
        assert await page.locator(".kpi[data-kpi=conversations] .kpi-label").text_content() == "会话数"
        await charts_drawn(page)
        assert await page.evaluate(ILLEGIBLE) == []
        await page.screenshot(path=tmp_path / "analytics-zh.png", full_page=True)

        # The drill row opens the transcript: customer, bot and agent lines, the customer's text as text.
        await click_item(page, "chart-sla", 1, 0)
        sla = await drilled(page, api, 7)
        assert (sla["priority"], sla["clock"], sla["met"]) == ("urgent", "first_response", "false")
        assert await page.locator("#drill-what").text_content() == "SLA 达成 · 紧急 · 首次响应 · 未达成"
        assert await page.locator("#chart-sla").get_attribute("aria-label") == "按优先级的 SLA 达成"  # its caption
        await page.locator("#drill-rows tbody tr").nth(0).locator("a").click()  # a conversation's row: one link
        await page.wait_for_url(f"{url}/console/conversations/{conversation.id}")
        lines = page.locator("#messages li")
        await lines.first.wait_for()
        assert [await li.get_attribute("data-sender") for li in await lines.all()] == ["customer", "bot", "agent"]
        assert await lines.nth(0).locator(".body").text_content() == CUSTOMER_TEXT
        assert await page.locator("#messages img").count() == 0
        assert await page.locator("#customer-tickets").get_attribute("href") == f"/console/tickets?q={customer.id}"
        assert await page.evaluate(ILLEGIBLE) == []
        await page.screenshot(path=tmp_path / "transcript-zh.png", full_page=True)
        assert dialogs == [] and errors == []


async def test_an_empty_range_says_so_on_every_chart_in_chinese(tmp_path: Path, browser: Browser) -> None:
    app = create_app(Settings(var_dir=tmp_path, rasa_url="http://127.0.0.1:9", kb=FAST_KB))
    api = FixtureApi(dt.datetime.now(ZoneInfo("Asia/Shanghai")).date(), empty=True)
    app.middlewares.append(api.middleware)
    async with serving(app) as url:
        await app[STAFF].add("sam", "pw", [Role.SUPERVISOR], "Sam")
        context = await browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await log_in(page, url, "sam")
        await page.wait_for_url(f"{url}/console/supervisor")
        await page.goto(f"{url}/console/analytics?from=2026-11-01&to=2026-11-07&language=zh")
        await page.locator("body[data-ready=true]").wait_for()
        assert api.asked("/api/v1/analytics/report")[-1] == {"from": "2026-11-01", "to": "2026-11-07", "language": "zh"}
        assert await page.locator("#f-language").input_value() == "zh"
        states = await page.evaluate(CHART_STATE)
        assert [s["empty"] for s in states] == [["此时间范围内没有数据"]] * len(CHARTS)
        assert all(s["width"] > 100 and s["height"] > 100 for s in states)
        assert await page.locator(".kpi[data-kpi=conversations] .kpi-change").text_content() == "无上期数据"
        assert await page.locator("#agents tbody td").text_content() == "无"
        assert await page.evaluate(ILLEGIBLE) == []
        await page.screenshot(path=tmp_path / "analytics-empty-zh.png", full_page=True)
        assert errors == []


def history(today: dt.date) -> Story:
    """Two days of service before `today` (Beijing): chats the bot kept, handoffs for two reasons, tickets of two
    categories (an urgent one missed its first response), a rating, and KB turns; one customer's id and one KB
    question are markup, as a customer may type it."""
    day1, day2 = (today - dt.timedelta(days=2)).isoformat(), (today - dt.timedelta(days=1)).isoformat()
    story = Story()
    story.opened("c1", "u1", bj(day1, "09:00"), channel="wechat", language="zh")
    story.bot_turn("c1", bj(day1, "09:01"), "answer", "faq-1", "退货要多久")
    story.opened("c2", CUSTOMER_TEXT, bj(day1, "10:00"))
    story.bot_turn("c2", bj(day1, "10:01"), "not_found", None, CUSTOMER_TEXT)
    story.handoff("c2", CUSTOMER_TEXT, bj(day1, "10:02"), reason="kb_not_found")
    story.assigned("c2", "ann", bj(day1, "10:03"))
    story.reply("c2", "ann", bj(day1, "10:10"))
    story.wrap_up("c2", "ann", bj(day1, "10:30"))
    story.survey("c2", "s2", "ann", bj(day1, "10:31"), (bj(day1, "10:40"), 5))
    story.opened("c3", "u3", bj(day2, "11:00"))
    story.handoff("c3", "u3", bj(day2, "11:01"), priority="urgent")
    story.assigned("c3", "ann", bj(day2, "11:30"))
    story.reply("c3", "ann", bj(day2, "13:30"))
    story.wrap_up("c3", "ann", bj(day2, "14:00"))
    story.opened("c4", "u4", bj(day2, "15:00"), language="zh")
    ids = {"conversation_id": "c3", "customer_id": "u3", "category": "product_fault", "channel": "web"}
    story.ticket(
        "T-URG", bj(day2, "11:05"), priority="urgent", fr_due=bj(day2, "12:05"), res_due=bj(day2, "15:05"), **ids
    )
    story.ticket_reply("T-URG", "ann", bj(day2, "13:30"), first=True, due=bj(day2, "12:05"))
    ids = {"conversation_id": "c2", "customer_id": CUSTOMER_TEXT, "category": "delivery", "channel": "web"}
    story.ticket("T-NRM", bj(day1, "10:20"), fr_due=bj(day2, "10:20"), res_due=bj(today.isoformat(), "10:20"), **ids)
    story.ticket_reply("T-NRM", "ann", bj(day1, "11:00"), first=True, due=bj(day2, "10:20"))
    story.resolved("T-NRM", bj(day1, "16:00"), due=bj(today.isoformat(), "10:20"))
    return story


async def test_the_real_report_drills_into_a_missed_urgent_sla_and_its_csv_equals_the_cards(
    tmp_path: Path, browser: Browser
) -> None:
    settings = Settings(
        var_dir=tmp_path, rasa_url="http://127.0.0.1:9", kb=FAST_KB, analytics=AnalyticsConfig(project_s=0)
    )
    app = create_app(settings)
    async with serving(app) as url:
        await app[STAFF].add("sam", "pw", [Role.SUPERVISOR], "Sam")
        db = app[DATABASE]
        await SQLServiceRecord(db).append(history(dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()).events)
        await AnalyticsConfig().projector(db, app[INTAKE].calendar).run_pass()

        context = await browser.new_context(
            locale="en-US", viewport={"width": 1400, "height": 900}, accept_downloads=True
        )
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        dialogs = record_dialogs(page)
        await log_in(page, url, "sam")
        await page.wait_for_url(f"{url}/console/supervisor")
        await page.goto(f"{url}/console/analytics")
        await page.locator("body[data-ready=true]").wait_for()
        await charts_drawn(page)
        conversations = await page.locator(".kpi[data-kpi=conversations] .kpi-value").text_content()
        assert conversations == "4"
        assert await page.locator("#kb-not-found td", has_text=CUSTOMER_TEXT).count() == 1
        assert await page.evaluate(ILLEGIBLE) == []
        await page.screenshot(path=tmp_path / "analytics-real-en.png", full_page=True)

        # The card's drill-down lists as many conversations as the card counts.
        await page.locator(".kpi[data-kpi=conversations]").click()
        await page.locator("#drill-count", has_text="4 of 4").wait_for()
        assert await page.locator("#drill-rows td", has_text=CUSTOMER_TEXT).count() == 1
        assert await page.locator("#drill-rows img").count() == 0

        # The missed urgent first response: the SLA chart's segment lists the ticket, linked to its page.
        await click_item(page, "chart-sla", 1, 0)
        await page.locator("#drill-what", has_text="urgent").wait_for()
        await page.locator("#drill-count", has_text="1 of 1").wait_for()
        link = page.locator("#drill-rows tbody tr a:not(.chat)")
        assert (await link.text_content(), await link.get_attribute("href")) == ("T-URG", "/console/tickets/T-URG")
        assert await page.locator("#drill-rows a.chat").get_attribute("href") == "/console/conversations/c3"

        # A text of the KB's not-found list drills down to the conversation it came from, the words still inert.
        await page.locator("#kb-not-found tr.clickable", has_text=CUSTOMER_TEXT).click()
        await page.locator("#drill-what", has_text="No answer found").wait_for()
        await page.locator("#drill-count", has_text="1 of 1").wait_for()
        assert await page.locator("#drill-what img").count() == 0

        # The exported key figures equal the cards.
        async with page.expect_download() as download_info:
            await page.locator("a.csv[data-table=kpis]").first.click()
        download = await download_info.value
        text = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")
        assert text.startswith(BOM)
        rows = {row["key"]: row for row in csv.DictReader(io.StringIO(text.removeprefix(BOM)))}
        assert rows["conversations"]["value"] == conversations
        assert rows["tickets"]["value"] == await page.locator(".kpi[data-kpi=tickets] .kpi-value").text_content()

        await page.locator("nav.fd-shell .fd-lang-switch button[value=zh]").click()
        await page.locator("#kpis-title", has_text="关键指标").wait_for()
        await charts_drawn(page)
        assert await page.evaluate(ILLEGIBLE) == []
        await page.screenshot(path=tmp_path / "analytics-real-zh.png", full_page=True)

        # A bookmark with a reversed range: the server's 400 is said on the page, nothing breaks.
        await page.goto(f"{url}/console/analytics?from=2026-11-20&to=2026-11-01")
        await page.locator("#flash", has_text="结束日期早于开始日期。").wait_for()
        assert await page.locator("#kpis .kpi").count() == 0
        assert dialogs == [] and errors == []
