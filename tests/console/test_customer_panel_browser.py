"""The customer panel in a real browser (Debian's Chromium): an agent's case card shows the customer's record —
identities, orders from the order system (the demo order service on loopback), past conversations with a summary,
tickets, CSAT, open clocks, tier and tags — the agent edits the tier and tags and merges another record in, and a
tag full of HTML stays text. Screenshots go to var/screenshots/ for a person to look at."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, Route

from bot.keys import CONVERSATIONS, CUSTOMERS, DATABASE, TICKETS
from conversations.identity import IdentityKey
from conversations.profile import checked_changes
from conversations.surveys import SurveyStore
from intake.models import Priority, TicketDraft
from intake.settings import IntakeConfig
from server.demo_orders import demo_order_service
from staff.auth import Role
from tests.console.conftest import PASSWORD, Running, console_app, console_settings
from tests.widget.browser import TIMEOUT_MS, record_dialogs

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
XSS_TAG = "<img src=x onerror=alert(1)>"


@pytest.fixture(params=["memory"])
def backend(request: pytest.FixtureRequest) -> str:
    return ""


@pytest.fixture
async def running(tmp_path: Path, rasa_url: str, backend: str) -> AsyncIterator[Running]:
    async with demo_order_service() as orders:
        settings = console_settings(tmp_path, rasa_url, backend).model_copy(
            update={"intake": IntakeConfig(order_api_url=orders, order_api_timeout_s=2)}
        )
        async with console_app(settings) as harness:
            yield harness


async def logged_in_console(browser: Browser, url: str, username: str) -> Page:
    page = await (await browser.new_context(viewport={"width": 1500, "height": 1300})).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{url}/console")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"{url}/console")
    await page.wait_for_selector("#conn:text('live')")
    return page


async def test_the_agent_sees_and_edits_the_customer_record_on_the_case_card(
    running: Running, browser: Browser
) -> None:
    app = running.app
    await running.staff("ann", Role.AGENT, display_name="Ann")
    # Alex wrote on the website a week ago (and rated the agent), and now again on another browser.
    earlier = await running.customer("en")
    await earlier.say("Where is my coffee machine?")
    earlier_id = (await app[CONVERSATIONS].get_conversation(earlier.conversation_id)).customer_id
    surveys = SurveyStore(app[DATABASE])
    survey = await surveys.ask(earlier.conversation_id, "bob")
    await surveys.rate(survey.id, 4)
    chat = await running.customer("en")
    await chat.say("My blender arrived broken and smells of smoke")
    customer_id = (await app[CONVERSATIONS].get_conversation(chat.conversation_id)).customer_id
    proof = [IdentityKey("phone", "13800138001"), IdentityKey("shop", "shop-1001")]
    await app[CUSTOMERS].link_proven(customer_id, proof, detail={"order_number": "1000000001"})
    await app[CUSTOMERS].update(customer_id, checked_changes({"display_name": "Alex Chen", "tags": [XSS_TAG]}))
    ticket = await app[TICKETS].create(
        TicketDraft(customer_id=customer_id, conversation_id=chat.conversation_id, description="blender smokes"),
        priority=Priority.HIGH,
    )

    page = await logged_in_console(browser, running.url, "ann")
    dialogs = record_dialogs(page)
    await chat.say("I want a human")
    await page.wait_for_selector("#case:not([hidden])")
    panel = page.locator("#customer-panel")
    await panel.locator("#cp-name:text('Alex Chen')").wait_for()

    assert await panel.locator("#cp-tier").text_content() == "standard"
    assert await panel.locator(".cp-tag").text_content() == XSS_TAG  # shown as text, never run
    assert await page.locator("#customer-panel img").count() == 0
    assert "***8001" in (await panel.locator("#cp-identities li[data-kind='phone']").text_content() or "")
    orders = panel.locator("#cp-orders li[data-order]")
    assert await orders.evaluate_all("items => items.map(i => i.dataset.order)") == ["1000000001", "1000000005"]
    assert "PowerMix 900 Blender" in (await orders.first.text_content() or "")
    summary = panel.locator(f"#cp-conversations li[data-cid='{chat.conversation_id}'] .cp-summary")
    assert await summary.text_content() == "My blender arrived broken and smells of smoke"
    assert await panel.locator(f"#cp-tickets li[data-ticket='{ticket.number}']").count() == 1
    clocks = panel.locator(f"#cp-clocks li[data-ticket='{ticket.number}']")
    # The customer wrote again in the ticket's chat before its first response: that one clock still runs (a reply
    # clock beside it would breach and apologise twice for one awaited answer).
    metrics = await clocks.evaluate_all("items => items.map(i => i.dataset.metric)")
    assert sorted(metrics) == ["first_response", "resolution"]
    # The waiting chat's own clock names the chat (the panel lists every waiting chat of the customer).
    chat_clock = panel.locator("#cp-clocks li[data-metric='chat_first_response']")
    assert (await chat_clock.text_content() or "").startswith(f"chat {chat.conversation_id} · first response · due")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "customer-panel.png"), full_page=True)

    # The agent makes Alex a VIP with a tag, then merges the earlier website visit into this record.
    await panel.locator("details.cp-edit summary").click()
    await page.select_option("#cp-edit-tier", "vip")
    await page.fill("#cp-edit-tags", "vip-event, 退款多")
    await page.click("#cp-save")
    await panel.locator("#cp-tier[data-tier='vip']").wait_for()
    assert await panel.locator(".cp-tag").all_text_contents() == ["vip-event", "退款多"]
    await panel.locator("details.cp-merge summary").click()
    await page.fill("#cp-merge-query", earlier_id)
    await page.fill("#cp-merge-note", "same person: asked about the order")
    await page.click("#cp-merge-form button[type='submit']")
    await page.click(f"#cp-merge-results li[data-id='{earlier_id}'] .cp-merge-this")
    await panel.locator("#cp-merges li[data-reason='agent']").wait_for()
    assert "same person: asked about the order" in (await panel.locator("#cp-merges li").text_content() or "")
    assert await panel.locator(f"#cp-conversations li[data-cid='{earlier.conversation_id}']").count() == 1
    assert "4 / 5" in (await panel.locator("#cp-csat .cp-average").text_content() or "")
    await page.screenshot(path=str(SCREENSHOTS / "customer-panel-after-merge.png"), full_page=True)

    # In Chinese, the codes read as words.
    await page.evaluate("window.fdI18n.setLanguage('zh')")
    await panel.locator("#cp-tier[data-tier='vip']").wait_for()
    await panel.locator("h3:text-matches('[\u4e00-\u9fff]')").first.wait_for()
    await page.screenshot(path=str(SCREENSHOTS / "customer-panel-zh.png"), full_page=True)
    assert dialogs == []


async def test_the_ticket_page_shows_the_customer_record_too(running: Running, browser: Browser) -> None:
    app = running.app
    await running.staff("ann", Role.AGENT, display_name="Ann")
    chat = await running.customer("zh")
    await chat.say("我的搅拌机坏了")
    customer_id = (await app[CONVERSATIONS].get_conversation(chat.conversation_id)).customer_id
    await app[CUSTOMERS].update(
        customer_id, checked_changes({"display_name": "王芳", "tier": "gold", "tags": ["老客户"]})
    )
    await app[CUSTOMERS].link_proven(customer_id, [IdentityKey("phone", "13900139002")], detail={})
    ticket = await app[TICKETS].create(
        TicketDraft(customer_id=customer_id, conversation_id=chat.conversation_id, description="搅拌机坏了"),
        priority=Priority.NORMAL,
    )
    orphan = await app[TICKETS].create(TicketDraft(customer_id="conversation:gone"), priority=Priority.LOW)

    page = await logged_in_console(browser, running.url, "ann")
    dialogs = record_dialogs(page)
    # A slow record (the order system takes its time) says it is loading rather than leaving the section empty.
    answer = asyncio.Event()

    async def held(route: Route) -> None:
        await answer.wait()
        await route.continue_()

    await page.route("**/api/v1/customers/**", held)
    await page.goto(f"{running.url}/console/tickets/{ticket.number}")
    panel = page.locator("#customer-panel")
    await panel.locator("#cp-loading").wait_for()
    answer.set()
    await panel.locator("#cp-name:text('王芳')").wait_for()
    assert await panel.locator("#cp-loading").count() == 0
    await page.unroute("**/api/v1/customers/**")
    assert await panel.locator("#cp-tier").get_attribute("data-tier") == "gold"
    assert await panel.locator(".cp-tag").all_text_contents() == ["老客户"]
    assert [await o.get_attribute("data-order") for o in await panel.locator("#cp-orders li[data-order]").all()] == [
        "1000000002"
    ]
    assert await panel.locator(f"#cp-tickets li[data-ticket='{ticket.number}']").count() == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "ticket-customer-panel.png"), full_page=True)

    await page.goto(f"{running.url}/console/tickets/{orphan.number}")
    await panel.locator("p:text('No customer record for this ticket.')").wait_for()
    assert dialogs == []


async def test_a_vip_waiting_in_the_queue_is_marked_and_served_first(
    tmp_path: Path, rasa_url: str, backend: str, browser: Browser
) -> None:
    settings = console_settings(tmp_path, rasa_url, backend, auto_assign=False)
    async with console_app(settings) as harness:
        await harness.staff("ann", Role.AGENT, display_name="Ann")
        standard = await harness.customer("en")
        await standard.say("I want a human")
        vip = await harness.customer("en")
        vip_id = (await harness.app[CONVERSATIONS].get_conversation(vip.conversation_id)).customer_id
        await harness.app[CUSTOMERS].update(vip_id, checked_changes({"tier": "vip"}))
        await vip.say("I want a human")  # came second, served first: a ten-minute head start

        page = await logged_in_console(browser, harness.url, "ann")
        item = page.locator(f"#queue li[data-cid='{vip.conversation_id}']")
        await item.locator(".badge[data-tier='vip']").wait_for()
        assert (await item.locator("strong").text_content() or "").startswith("#1 ")
        later = page.locator(f"#queue li[data-cid='{standard.conversation_id}'] strong")
        assert (await later.text_content() or "").startswith("#2 ")
        await page.click("#pull-next")
        await page.locator(f"#inbox li[data-cid='{vip.conversation_id}']").wait_for()
        await page.locator("#transcript li[data-sender='customer'] .text:text('I want a human')").wait_for()
        await page.screenshot(path=str(SCREENSHOTS / "console-vip-queue.png"), full_page=True)
        await page.context.close()  # before the app stops: an open console socket would hold its shutdown


async def test_the_ticket_page_draws_the_customer_panel_again_after_each_action(
    running: Running, browser: Browser
) -> None:
    app = running.app
    await running.staff("ann", Role.AGENT, display_name="Ann")
    chat = await running.customer("en")
    await chat.say("My blender arrived broken and smells of smoke")
    customer_id = (await app[CONVERSATIONS].get_conversation(chat.conversation_id)).customer_id
    ticket = await app[TICKETS].create(
        TicketDraft(customer_id=customer_id, conversation_id=chat.conversation_id, description="blender smokes"),
        priority=Priority.HIGH,
    )
    page = await logged_in_console(browser, running.url, "ann")
    dialogs = record_dialogs(page)
    await page.goto(f"{running.url}/console/tickets/{ticket.number}")
    panel = page.locator("#customer-panel")
    listed = panel.locator(f"#cp-tickets li[data-ticket='{ticket.number}']")
    await listed.wait_for()
    assert " · new · " in (await listed.text_content() or "")
    clocks = panel.locator(f"#cp-clocks li[data-ticket='{ticket.number}']")
    assert await clocks.count() > 0

    # A public reply opens the ticket: the panel says so without a reload.
    await page.fill("#composer-text", "We are sending a courier for it.")
    await page.click("#composer-send")
    await panel.locator(f"#cp-tickets li[data-ticket='{ticket.number}']:has-text(' · open · ')").wait_for()

    await page.click("#status-actions button[data-to=resolved]")
    await panel.locator(f"#cp-tickets li[data-ticket='{ticket.number}']:has-text(' · resolved · ')").wait_for()
    assert await clocks.count() == 0  # a resolved ticket runs no SLA clocks
    assert dialogs == []
