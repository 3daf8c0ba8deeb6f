"""The agent console in a real browser (Debian's Chromium): two agents in two browser contexts and customers on the
chat API. A customer's `<img src=x onerror=alert(1)>` must show as text in the agent's transcript, never run; an agent
who works on the Tickets page keeps her chats however long, and the page tells her when one needs her."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page

from bot.handoff_bridge import HANDOFF
from handoff import OwnershipState
from staff.auth import Role
from tests.console.conftest import PASSWORD, Running, console_app, console_settings
from tests.widget.browser import TIMEOUT_MS

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(params=["memory"])
def backend(request: pytest.FixtureRequest) -> str:
    return ""


async def agent_console(browser: Browser, url: str, username: str) -> tuple[BrowserContext, Page, list[str]]:
    context = await browser.new_context()
    page = await context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{url}/console")
    assert "/login" in page.url
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"{url}/console")
    await page.wait_for_selector("#conn:text('live')")
    return context, page, dialogs


async def test_two_agents_get_their_own_cases_and_customer_html_stays_text(running: Running, browser: Browser) -> None:
    await running.staff("ann", Role.AGENT, display_name="Ann")
    await running.staff("bob", Role.AGENT, display_name="Bob")
    ann_context, ann, ann_dialogs = await agent_console(browser, running.url, "ann")
    bob_context, bob, bob_dialogs = await agent_console(browser, running.url, "bob")
    try:
        first = await running.customer("en")
        await first.say("I want a human")
        await ann.wait_for_selector(f"#inbox li[data-cid='{first.conversation_id}']")
        second = await running.customer("zh")
        await second.say("我要找人工客服")
        await bob.wait_for_selector(f"#inbox li[data-cid='{second.conversation_id}']")
        assert await bob.locator(f"#inbox li[data-cid='{first.conversation_id}']").count() == 0

        await ann.wait_for_selector("#case:not([hidden])")
        assert await ann.text_content("#case-reason") == "customer asked for a person"
        history = ann.locator("#handoff-events li[data-kind='trigger']")
        await history.wait_for()
        assert "Handed off: customer asked for a person" in (await history.text_content() or "")
        await first.say(XSS)
        line = ann.locator("#transcript li[data-sender='customer'] .text", has_text="onerror")
        await line.wait_for()
        assert await line.text_content() == XSS
        assert await ann.locator("#transcript img").count() == 0

        await ann.fill("#reply", "Hello from Ann")
        await ann.click("#send")
        await first.wait_for(lambda m: m["sender"] == "agent" and m["text"] == "Hello from Ann")
        await ann.click("#case details.actions:nth-of-type(2) summary")
        await ann.fill("#close-note", "answered")
        await ann.click("#close")
        await ann.wait_for_selector(f"#inbox li[data-cid='{first.conversation_id}']", state="detached")
        await first.wait_for(lambda m: any(b["payload"].startswith("/fd_rate") for b in m["buttons"]))
        assert ann_dialogs == [] and bob_dialogs == []
    finally:
        await ann_context.close()
        await bob_context.close()


async def test_a_ticket_event_is_one_readable_line_with_a_link_and_an_unknown_event_no_json(
    running: Running, browser: Browser
) -> None:
    await running.staff("ann", Role.AGENT, display_name="Ann")
    context, ann, dialogs = await agent_console(browser, running.url, "ann")
    try:
        customer = await running.customer("en")
        await customer.say("file a ticket")
        await customer.say("I want a human")
        await ann.wait_for_selector("#case:not([hidden])")
        ticket = ann.locator("#transcript li[data-event='ticket'] .text")
        await ticket.wait_for()
        assert await ticket.text_content() == "Ticket FD-000001 created — product fault, priority high"
        assert await ticket.locator("a").get_attribute("href") == "/console/tickets/FD-000001"
        assert await ticket.locator("a").text_content() == "FD-000001"
        unknown = await ann.text_content("#transcript li[data-event='made_up_event'] .text") or ""
        assert unknown == "Event: made_up_event"
        transcript = await ann.text_content("#transcript") or ""
        assert "{" not in transcript and "xxxx" not in transcript
        handoff = await ann.text_content("#transcript li[data-event='handoff'] .text") or ""
        assert handoff == "handoff requested: customer asked for a person · intent confidence 0.97"
        assert [await ann.text_content(f"#fields {tag}") for tag in ("dt", "dd")] == ["order number", "1234567890"]
        assert "smells of burning" not in transcript
        assert dialogs == []
    finally:
        await context.close()


@pytest.fixture
async def short_grace(tmp_path: Path, rasa_url: str, backend: str) -> AsyncIterator[Running]:
    """A presence grace of half a second, so a test can stay on another page far longer than it."""
    async with console_app(console_settings(tmp_path, rasa_url, backend, presence_grace_s=0.5)) as harness:
        yield harness


async def test_an_agent_working_on_tickets_keeps_her_chats_and_is_told_of_a_new_one(
    short_grace: Running, browser: Browser
) -> None:
    running = short_grace
    await running.staff("ann", Role.AGENT, display_name="Ann")
    context, ann, dialogs = await agent_console(browser, running.url, "ann")
    service = running.app[HANDOFF]
    try:
        first = await running.customer("en")
        await first.say("I want a human")
        await ann.wait_for_selector(f"#inbox li[data-cid='{first.conversation_id}']")
        await ann.click(".fd-shell-pages a[href='/console/tickets']")
        await ann.wait_for_url(f"{running.url}/console/tickets")
        badge = ann.locator("#fd-shell-chats")
        await badge.filter(has_text="My chats: 1").wait_for()
        await asyncio.sleep(2.0)  # four times the grace and ten sweeps: the Tickets page holds her presence
        second = await running.customer("en")
        await second.say("I want a human")
        await badge.filter(has_text="1 chat(s) need you").wait_for()
        assert (await ann.title()).startswith("(1) ")
        await first.say("are you there?")
        await badge.filter(has_text="2 chat(s) need you").wait_for()

        await badge.click()
        await ann.wait_for_url(f"{running.url}/console")
        await ann.wait_for_selector("#conn:text('live')")
        await ann.wait_for_selector(f"#inbox li[data-cid='{first.conversation_id}']")
        await ann.wait_for_selector(f"#inbox li[data-cid='{second.conversation_id}']")
        assert await ann.locator("#fd-shell-chats").count() == 0  # the console shows her chats itself
        assert await ann.input_value("#presence") == "online"
        for customer in (first, second):
            mine = await service.state_of(customer.conversation_id)
            assert mine is not None and mine.state is OwnershipState.ASSIGNED and mine.agent_id == "ann"
            assert not [e for e in mine.events if e.data.get("cause") == "agent_offline"]
        assert dialogs == []
    finally:
        await context.close()
